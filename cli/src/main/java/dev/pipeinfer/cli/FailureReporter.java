package dev.pipeinfer.cli;

import dev.pipeinfer.gguf.GgufFormatException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Turns what a command throws into one line on stderr and an exit status, the way command-line users
 * expect: bad input (a malformed file, a missing file, an unusable option) exits 2 with a message that
 * names the cause; anything else exits 1. The stack trace is printed only with {@code --debug}.
 */
final class FailureReporter implements IExecutionExceptionHandler {
    static final int BAD_INPUT = 2;
    static final int FAILURE = 1;

    @Override
    public int handleExecutionException(Exception e, CommandLine commandLine, ParseResult parseResult) {
        PrintWriter err = commandLine.getErr();
        err.println("pipeinfer: " + describe(e));
        if (debug(parseResult)) e.printStackTrace(err);
        err.flush();
        return exitStatus(e);
    }

    static String describe(Throwable e) {
        if (e instanceof NoSuchFileException n) return n.getFile() + ": no such file";
        if (e instanceof AccessDeniedException a) return a.getFile() + ": permission denied";
        if (e instanceof GgufFormatException || e instanceof UserError) return e.getMessage();
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }

    static int exitStatus(Throwable e) {
        return e instanceof GgufFormatException || e instanceof UserError || e instanceof IOException ? BAD_INPUT : FAILURE;
    }

    private static boolean debug(ParseResult parseResult) {
        for (ParseResult p = parseResult; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--debug")) return true;
        }
        return false;
    }

    /** A problem with what the user asked for, reported as is (exit status 2). */
    static final class UserError extends RuntimeException {
        UserError(String message) {
            super(message);
        }
    }
}
