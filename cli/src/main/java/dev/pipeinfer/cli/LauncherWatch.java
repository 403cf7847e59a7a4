package dev.pipeinfer.cli;

import java.util.Optional;

/**
 * Ends this JVM when the launcher that started it has gone. {@code java -jar pipeinfer.jar} on an older default
 * {@code java} re-executes itself on a JDK 25 ({@link dev.pipeinfer.cli.launch.Launcher}) and waits for that
 * child. A TERM or INT sent to the launcher reaches the child through the launcher's shutdown hook, but a KILL
 * cannot: the child went on running on its own, and a worker kept its port and went on serving a cluster its
 * operator believed stopped. So the launcher passes its process id ({@value #PROPERTY}) and the child watches it.
 */
final class LauncherWatch {
    /** The system property through which the launcher passes its process id. */
    static final String PROPERTY = "pipeinfer.launcherPid";

    private LauncherWatch() {}

    /** When this JVM was started by the launcher, stops it (exit status 1) as soon as the launcher ends. */
    static void exitWhenLauncherEnds() {
        String value = System.getProperty(PROPERTY);
        if (value == null) return;
        long pid;
        try {
            pid = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return; // not from our launcher: nothing to watch
        }
        Optional<ProcessHandle> launcher = ProcessHandle.of(pid);
        if (launcher.isEmpty()) {
            launcherGone(pid); // it ended before this JVM got here
            return;
        }
        launcher.get().onExit().thenRun(() -> launcherGone(pid));
    }

    private static void launcherGone(long pid) {
        System.err.println("pipeinfer: the launcher (process " + pid + ") has ended, so this process stops too");
        System.exit(ErrorReporting.FAILURE);
    }
}
