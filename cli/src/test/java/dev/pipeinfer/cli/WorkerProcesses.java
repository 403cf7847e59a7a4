package dev.pipeinfer.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** {@code pipeinfer worker} processes on loopback ports, for tests of real multi-process pipelines. */
final class WorkerProcesses implements AutoCloseable {
    private final List<Process> processes = new ArrayList<>();
    private final List<String> addresses = new ArrayList<>();
    private final List<BlockingQueue<String>> logs = new ArrayList<>();

    /** Starts a worker on a free port and waits until it listens; returns its HOST:PORT. */
    String start(Path model, String... extraArgs) throws IOException, InterruptedException {
        return start(List.of(), model, extraArgs);
    }

    /** {@link #start(Path, String...)} with JVM options (such as system properties) before the main class. */
    String start(List<String> jvmOptions, Path model, String... extraArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx256m"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "worker", "--model", model.toString(), "--listen", "127.0.0.1:0", "--threads", "1"));
        cmd.addAll(List.of(extraArgs));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        processes.add(p);
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        logs.add(lines);
        Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) lines.add(line);
            } catch (IOException ignored) {
                // the process ended
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String line = lines.poll(100, TimeUnit.MILLISECONDS);
            if (line != null && line.contains(" on 127.0.0.1:")) {
                String address = line.substring(line.lastIndexOf(" on ") + 4).strip();
                addresses.add(address);
                return address;
            }
            if (line == null && !p.isAlive()) throw new IllegalStateException("worker exited with " + p.exitValue());
        }
        throw new IllegalStateException("worker did not start listening within 60 s");
    }

    Process process(int i) {
        return processes.get(i);
    }

    /** Waits up to {@code seconds} for a log line of worker i containing {@code text}. */
    String awaitLog(int i, String text, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            String line = logs.get(i).poll(100, TimeUnit.MILLISECONDS);
            if (line != null && line.contains(text)) return line;
        }
        return null;
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : processes) p.destroyForcibly();
        for (Process p : processes) p.waitFor(10, TimeUnit.SECONDS);
    }
}
