package dev.pipeinfer.cli;

import dev.pipeinfer.gguf.GgufFormatException;
import dev.pipeinfer.pipeline.StageFailureException;
import dev.pipeinfer.transformer.model.UnsupportedModelException;
import dev.pipeinfer.transformer.tokenizer.UnsupportedTokenizerException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * How every command ends when something goes wrong: one line on stderr that names the cause, and an exit
 * status that tells scripts what kind of failure it was. The stack trace is printed only with
 * {@code --debug}, because for a bad file or a missing path it explains nothing a user can act on.
 *
 * <p>Commands simply throw; Main installs this as picocli's execution exception handler.
 */
public final class ErrorReporting implements IExecutionExceptionHandler {
    /** The command did what was asked. */
    public static final int OK = 0;
    /** Something failed that is not the input's fault (a bug, a lost node, a full disk). */
    public static final int FAILURE = 1;
    /** The input is unusable: a malformed or missing file, a bad argument (picocli's own usage errors are 2 too). */
    public static final int BAD_INPUT = 2;

    /** The option, accepted by every command, that asks for stack traces. */
    public static final String DEBUG_OPTION = "--debug";

    @Override
    public int handleExecutionException(Exception e, CommandLine command, ParseResult parsed) {
        Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
        int status = statusFor(cause);
        String who = command.getParent() == null ? "pipeinfer" : "pipeinfer " + command.getCommandName();
        command.getErr().println(who + ": " + oneLine(cause));
        if (debugRequested(parsed)) cause.printStackTrace(command.getErr());
        command.getErr().flush();
        return status;
    }

    static int statusFor(Throwable e) {
        return e instanceof GgufFormatException || e instanceof FileSystemException || e instanceof UsageError
                || e instanceof UnsupportedModelException || e instanceof UnsupportedTokenizerException
                || e instanceof CommandLine.ParameterException ? BAD_INPUT : FAILURE;
    }

    /** What the user asked for cannot be done as asked (conflicting options, a bad value): exit status 2. */
    public static final class UsageError extends RuntimeException {
        public UsageError(String message) {
            super(message);
        }
    }

    /** The message a user needs, on one line. */
    static String oneLine(Throwable e) {
        String message = switch (e) {
            case GgufFormatException g -> g.getMessage();
            case UsageError u -> u.getMessage();
            case UnsupportedModelException u -> u.getMessage();
            case UnsupportedTokenizerException u -> u.getMessage();
            case StageFailureException s -> s.getMessage(); // names the stage, its node and what happened
            case NoSuchFileException n -> n.getFile() + ": no such file";
            case FileSystemException f -> f.getFile() + ": " + (f.getReason() != null ? f.getReason() : f.getClass().getSimpleName());
            case IOException io -> io.getMessage() != null ? io.getMessage() : io.getClass().getSimpleName();
            default -> e.getClass().getSimpleName() + (e.getMessage() != null ? ": " + e.getMessage() : "");
        };
        return message.replace('\n', ' ');
    }

    private static boolean debugRequested(ParseResult parsed) {
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption(DEBUG_OPTION)) return true;
        }
        return false;
    }
}
