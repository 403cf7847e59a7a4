package dev.pipeinfer.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The {@code pipeinfer} command: subcommands are small annotated classes beside this one. */
@Command(name = "pipeinfer",
        mixinStandardHelpOptions = true,
        version = "pipeinfer 0.1.0",
        description = "Pure-Java pipelined CPU inference for GGUF models.",
        subcommands = {InspectCommand.class, TokenizeCommand.class, SynthCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = ErrorReporting.DEBUG_OPTION, scope = ScopeType.INHERIT,
            description = "On failure, print the full stack trace after the one-line message.")
    boolean debug;

    public static void main(String[] args) {
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

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
