package dev.pipeinfer.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The {@code pipeinfer} command: subcommands are small annotated classes beside this one. */
@Command(name = "pipeinfer",
        mixinStandardHelpOptions = true,
        version = "pipeinfer 0.1.0",
        description = {"Pure-Java pipelined CPU inference for GGUF models.",
                "With --model and a prompt it generates text; the commands below do the rest."},
        footer = {"", "Examples:",
                "  pipeinfer --model testdata/models/stories260K.gguf --prompt \"Once upon a time\" -n 64",
                "  pipeinfer --model M --prompt P --local-stages 2        # two pipeline stages in this process",
                "  pipeinfer --model M --draft D --prompt P --local-stages 2   # PipeInfer speculation with a draft model",
                "  pipeinfer worker --model M --listen 127.0.0.1:7071      # then --stages 127.0.0.1:7071 on the head"},
        subcommands = {InspectCommand.class, TokenizeCommand.class, LogitsCommand.class, PerplexityCommand.class,
                BenchCommand.class, BenchModesCommand.class, WorkerCommand.class, SynthCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = ErrorReporting.DEBUG_OPTION, scope = ScopeType.INHERIT,
            description = "On failure, print the full stack trace after the one-line message.")
    boolean debug;

    public static void main(String[] args) {
        LauncherWatch.exitWhenLauncherEnds();
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit status (tests call this instead of {@link #main}). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** Runs the command line with its output and errors going to the given writers (for tests). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = commandLine();
        cl.setOut(out);
        cl.setErr(err);
        int status = cl.execute(args);
        out.flush();
        err.flush();
        return status;
    }

    /** The configured command tree: every subcommand reports failures through {@link ErrorReporting}. */
    public static CommandLine commandLine() {
        return new CommandLine(new Main()).setExecutionExceptionHandler(new ErrorReporting());
    }

    @Mixin
    GenerationOptions generation = new GenerationOptions();

    /** Without a subcommand, pipeinfer generates text; without a model it shows this help. */
    @Override
    public Integer call() throws Exception {
        if (generation.model == null) {
            spec.commandLine().usage(spec.commandLine().getOut());
            return ErrorReporting.OK;
        }
        return new Generation(generation, spec.commandLine().getOut(), spec.commandLine().getErr()).run();
    }
}
