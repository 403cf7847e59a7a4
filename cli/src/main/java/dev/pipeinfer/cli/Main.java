package dev.pipeinfer.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The {@code pipeinfer} command: subcommands are small annotated classes beside this one. */
@Command(name = "pipeinfer",
        mixinStandardHelpOptions = true,
        version = "pipeinfer 0.1.0",
        description = "Pure-Java pipelined CPU inference for GGUF models.",
        subcommands = {TokenizeCommand.class, SynthCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Print stack traces of errors.")
    boolean debug;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit status (tests call this instead of {@link #main}). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    static CommandLine commandLine() {
        return new CommandLine(new Main()).setExecutionExceptionHandler(new FailureReporter());
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
