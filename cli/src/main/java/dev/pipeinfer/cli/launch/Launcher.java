package dev.pipeinfer.cli.launch;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Entry point of {@code java -jar pipeinfer.jar}.
 *
 * <p>The engine needs JDK 25 and the incubating Vector API module, which a plain {@code java -jar} does
 * not resolve. Rather than asking every user for JVM flags, this class (compiled for Java 8, so that an
 * older default {@code java} can run it) checks both and, when either is missing, re-executes the same
 * jar on a JDK 25 with {@code --add-modules jdk.incubator.vector}, passing the user's JVM options on.
 *
 * <p>The re-executed JVM also gets a garbage collector suited to inference unless the user chose one:
 * the serial collector with a 32 MiB young generation. The heap holds a few large long-lived arrays (KV
 * cache, vocabulary) and short-lived scratch; G1's adaptive young generation instead grows to hundreds
 * of megabytes while the first tokens run on boxing, not yet compiled Vector API code, and stays resident
 * (a 1.1B Q4_0 model: 1011 MiB resident with G1, 731 MiB with these flags, of which 588 MiB are the
 * mapped weights; same tokens/s).
 */
public final class Launcher {
    private static final String MAIN = "dev.pipeinfer.cli.Main";
    private static final String VECTOR_PROBE = "jdk.incubator.vector.FloatVector";
    private static final int REQUIRED_MAJOR = 25;

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        if (javaMajor(System.getProperty("java.specification.version")) >= REQUIRED_MAJOR && vectorModuleResolved()) {
            runInProcess(args);
            return;
        }
        String javaHome = findJdk();
        if (javaHome == null) {
            System.err.println("pipeinfer: JDK " + REQUIRED_MAJOR + " or newer is required (this is Java "
                    + System.getProperty("java.version") + " at " + System.getProperty("java.home")
                    + "); set JAVA_HOME to a JDK " + REQUIRED_MAJOR + " or install one under /usr/lib/jvm");
            System.exit(1);
        }
        System.exit(reexecute(javaHome, args));
    }

    private static void runInProcess(String[] args) throws Exception {
        try {
            Class.forName(MAIN).getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception) throw (Exception) cause;
            if (cause instanceof Error) throw (Error) cause;
            throw e;
        }
    }

    private static boolean vectorModuleResolved() {
        try {
            Class.forName(VECTOR_PROBE, false, Launcher.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** JAVA_HOME when it is new enough, else this JVM when it is, else the newest JDK under /usr/lib/jvm. */
    private static String findJdk() {
        List<String> candidates = new ArrayList<String>();
        String env = System.getenv("JAVA_HOME");
        if (env != null && !env.isEmpty()) candidates.add(env);
        candidates.add(System.getProperty("java.home"));
        File[] installed = new File("/usr/lib/jvm").listFiles();
        if (installed != null) {
            Arrays.sort(installed);
            for (int i = installed.length - 1; i >= 0; i--) candidates.add(installed[i].getPath());
        }
        for (String home : candidates) {
            if (new File(home, "bin/java").canExecute() && releaseMajor(new File(home, "release")) >= REQUIRED_MAJOR) {
                return home;
            }
        }
        return null;
    }

    private static int releaseMajor(File release) {
        try (java.io.BufferedReader in = new java.io.BufferedReader(new java.io.FileReader(release))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("JAVA_VERSION=")) {
                    return javaMajor(line.substring("JAVA_VERSION=".length()).replace("\"", ""));
                }
            }
        } catch (java.io.IOException e) {
            return -1;
        }
        return -1;
    }

    static int javaMajor(String version) {
        if (version == null) return -1;
        String v = version.startsWith("1.") ? version.substring(2) : version;
        int end = 0;
        while (end < v.length() && Character.isDigit(v.charAt(end))) end++;
        return end == 0 ? -1 : Integer.parseInt(v.substring(0, end));
    }

    /** Whether the user picked a collector or a young generation size themselves. */
    private static boolean choosesHeapLayout(List<String> options) {
        for (String option : options) {
            if (option.matches("-XX:[+-]Use\\w*GC") || option.startsWith("-Xmn") || option.startsWith("-XX:NewSize")
                    || option.startsWith("-XX:MaxNewSize") || option.startsWith("-XX:NewRatio")) {
                return true;
            }
        }
        return false;
    }

    /** This process's id, from the runtime's name "pid@host" (Java 8 has no ProcessHandle); null if it has another form. */
    private static String ownPid() {
        String name = ManagementFactory.getRuntimeMXBean().getName();
        int at = name.indexOf('@');
        String pid = at > 0 ? name.substring(0, at) : "";
        for (int i = 0; i < pid.length(); i++) {
            if (!Character.isDigit(pid.charAt(i))) return null;
        }
        return pid.isEmpty() ? null : pid;
    }

    private static int reexecute(String javaHome, String[] args) throws Exception {
        String jar = new File(Launcher.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getPath();
        List<String> command = new ArrayList<String>();
        command.add(new File(javaHome, "bin/java").getPath());
        command.add("--add-modules=jdk.incubator.vector");
        command.add("--enable-native-access=ALL-UNNAMED");
        List<String> userOptions = ManagementFactory.getRuntimeMXBean().getInputArguments();
        if (!choosesHeapLayout(userOptions)) {
            command.add("-XX:+UseSerialGC");
            command.add("-Xmn32m");
        }
        for (String option : userOptions) {
            if (!option.startsWith("--add-modules") && !option.startsWith("-agentlib:jdwp")) command.add(option);
        }
        String pid = ownPid();
        // the child stops when this process ends, even by a KILL, which runs no shutdown hook (cli.LauncherWatch)
        if (pid != null) command.add("-Dpipeinfer.launcherPid=" + pid);
        command.add("-cp");
        command.add(jar);
        command.add(MAIN);
        command.addAll(Arrays.asList(args));
        final Process child = new ProcessBuilder(command).inheritIO().start();
        Thread stopChild = new Thread(new Runnable() {
            @Override public void run() { child.destroy(); }
        });
        Runtime.getRuntime().addShutdownHook(stopChild);
        int status = child.waitFor();
        try {
            Runtime.getRuntime().removeShutdownHook(stopChild);
        } catch (IllegalStateException alreadyStopping) {
            // the JVM is exiting anyway
        }
        return status;
    }
}
