package dev.pipeinfer.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where this process's memory is, as the memory criterion needs it: the resident set (VmRSS), the part of
 * it that is pages of the mapped model file, and the Java heap in use after a collection (which should hold
 * no weights: they stay in the mapped file).
 *
 * <p>Right after {@code System.gc()} the heap may report little committed memory while the RSS still holds the
 * pages the JVM has not yet given back (G1 uncommits concurrently), so the anonymous part of the RSS is shown too.
 *
 * @param rssBytes       VmRSS from /proc/self/status, or -1 where there is no /proc (not Linux)
 * @param rssAnonBytes   RssAnon: heap, JVM-internal memory, thread stacks (the KV cache is on the heap)
 * @param rssFileBytes   RssFile: pages of mapped files, the model's and the JDK's own
 * @param modelRssBytes  resident pages of mappings of the model file (Rss lines of /proc/self/smaps), or -1
 * @param heapUsedBytes  heap in use after {@code System.gc()}
 * @param heapCommittedBytes heap the JVM has reserved from the OS (part of the RSS once touched)
 */
record ProcessMemory(long rssBytes, long rssAnonBytes, long rssFileBytes, long modelRssBytes, long heapUsedBytes, long heapCommittedBytes) {

    static ProcessMemory now(Path modelFile) {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        List<String> status = statusLines();
        return new ProcessMemory(field(status, "VmRSS:"), field(status, "RssAnon:"), field(status, "RssFile:"), residentPagesOf(modelFile), rt.totalMemory() - rt.freeMemory(), rt.totalMemory());
    }

    private static List<String> statusLines() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status"));
        } catch (IOException | RuntimeException e) {
            return List.of(); // no /proc: every field is reported as unknown
        }
    }

    /** A kB field of /proc/self/status, in bytes, or -1. */
    private static long field(List<String> status, String name) {
        for (String line : status) {
            if (line.startsWith(name)) return kilobytes(line);
        }
        return -1;
    }

    /** Sums the Rss of every mapping whose path is the model file. */
    private static long residentPagesOf(Path modelFile) {
        try {
            String target = modelFile.toRealPath().toString();
            List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
            long total = 0;
            boolean inModel = false;
            for (String line : lines) {
                if (isMappingHeader(line)) {
                    inModel = line.endsWith(" " + target);
                } else if (inModel && line.startsWith("Rss:")) {
                    total += kilobytes(line);
                }
            }
            return total;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** A mapping header starts with an address range such as {@code 7f12a000-7f12b000}. */
    private static boolean isMappingHeader(String line) {
        int dash = line.indexOf('-');
        int space = line.indexOf(' ');
        if (dash <= 0 || space <= dash) return false;
        for (int i = 0; i < space; i++) {
            char c = line.charAt(i);
            if (c != '-' && Character.digit(c, 16) < 0) return false;
        }
        return true;
    }

    /** "VmRSS:   12345 kB" -> bytes. */
    private static long kilobytes(String line) {
        String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]) * 1024;
    }

    /** The one-minute load average, or NaN where /proc/loadavg is missing: numbers measured on a shared machine need it beside them. */
    static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }
}
