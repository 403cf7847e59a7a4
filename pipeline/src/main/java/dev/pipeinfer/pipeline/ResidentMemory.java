package dev.pipeinfer.pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's resident set (VmRSS): the memory a node really uses, mapped weight pages included, which
 * the Java heap figures do not show.
 */
public final class ResidentMemory {
    private ResidentMemory() {}

    /** VmRSS from /proc/self/status in bytes, or -1 where there is no such file (not Linux). */
    public static long bytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or unreadable: unknown
        }
        return -1;
    }
}
