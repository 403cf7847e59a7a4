package dev.pipeinfer.gguf.testdata;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** What a sparse file costs on disk, from {@code stat} (Java has no portable block count). */
public final class SparseFiles {
    private SparseFiles() {}

    /** Bytes of disk the file occupies; skips the calling test where {@code stat} cannot tell. */
    public static long diskUsage(Path file) throws IOException {
        Process stat = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).redirectErrorStream(true).start();
        String out = new String(stat.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        try {
            assumeTrue(stat.waitFor() == 0, "stat cannot report disk usage here: " + out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        String[] blocksAndSize = out.split(" ");
        return Long.parseLong(blocksAndSize[0]) * Long.parseLong(blocksAndSize[1]);
    }
}
