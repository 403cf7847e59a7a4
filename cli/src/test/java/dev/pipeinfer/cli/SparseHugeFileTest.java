package dev.pipeinfer.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.gguf.GgmlType;
import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.GgufTensor;
import dev.pipeinfer.gguf.GgufValue;
import dev.pipeinfer.gguf.GgufWriter;
import dev.pipeinfer.gguf.testdata.SparseFiles;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A GGUF file far over 4 GiB (so every offset and size needs 64 bits) that takes no disk: its big tensor
 * is a hole. {@code pipeinfer inspect} runs on it in a child JVM with a 64 MiB heap, which it can only
 * pass if nothing of the data section is read onto the heap.
 */
class SparseHugeFileTest {
    private static final long GiB = 1L << 30;

    @TempDir
    Path dir;

    @Test
    void inspectOfA9GiBSparseFileRunsIn64MiBOfHeap() throws Exception {
        assumeSparseFiles();
        Path file = dir.resolve("huge.gguf");
        long bigOffset = 5 * GiB;                        // the tensor starts past 4 GiB
        long[] bigShape = {1L << 20, 1152};              // F32: 4 MiB rows x 1152 = 4.5 GiB
        new GgufWriter()
                .put("general.architecture", GgufValue.ofString("llama"))
                .put("general.name", GgufValue.ofString("sparse giant"))
                .put("llama.block_count", GgufValue.ofUInt32(1))
                .put("llama.embedding_length", GgufValue.ofUInt32(8))
                .tensor("token_embd.weight", GgmlType.F32, new long[] {8, 4}, MemorySegment.ofArray(ramp(32)))
                .tensorAt(bigOffset, "blk.0.ffn_up.weight", GgmlType.F32, bigShape, null)
                .write(file);
        long bigBytes = 4 * bigShape[0] * bigShape[1];
        assertEquals(4.5 * GiB, bigBytes);
        assertTrue(SparseFiles.diskUsage(file) < 64 << 20, "the holes take no disk");

        long open0 = System.nanoTime();
        try (GgufFile f = GgufFile.open(file)) {
            System.out.printf(java.util.Locale.ROOT, "[sparse] GgufFile.open of %s in this JVM: %.1f ms%n", f(f.fileSize()),
                    (System.nanoTime() - open0) / 1e6);
            assertTrue(f.fileSize() >= bigOffset + bigBytes);
            GgufTensor big = f.tensor("blk.0.ffn_up.weight");
            assertEquals(bigOffset, big.offset());
            assertEquals(bigBytes, big.data().byteSize());
            assertEquals(0f, big.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, bigBytes / 4 - 1), "holes read as zeros");
            assertEquals(31f, f.tensor("token_embd.weight").data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 31));
        }

        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ProcessBuilder child = new ProcessBuilder(java.toString(), "--add-modules", "jdk.incubator.vector", "-Xmx64m",
                "-cp", classpath, Main.class.getName(), "inspect", "--json", "--tensors", file.toString());
        long t0 = System.nanoTime();
        Process p = child.start();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> {
            try {
                return readAll(p.getErrorStream().readAllBytes());
            } catch (IOException e) {
                return "(stderr unreadable: " + e + ")";
            }
        });
        String out = readAll(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "inspect did not finish");
        long millis = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("[sparse] inspect of a " + f(Files.size(file)) + " sparse file in a -Xmx64m JVM: " + millis
                + " ms including JVM start");
        assertEquals(0, p.exitValue(), err.get());

        JsonNode report = new ObjectMapper().readTree(out);
        assertEquals(Files.size(file), report.get("file_size").asLong());
        assertEquals("sparse giant", report.get("name").asText());
        assertEquals(32 + bigShape[0] * bigShape[1], report.get("parameter_count").asLong());
        assertEquals(32 * 4 + bigBytes, report.get("tensor_types").get("F32").get("bytes").asLong());
        JsonNode big = report.get("tensors").get(1);
        assertEquals("blk.0.ffn_up.weight", big.get("name").asText());
        assertEquals(bigOffset, big.get("offset").asLong());
        assertEquals(bigBytes, big.get("bytes").asLong());
        assertEquals(List.of(bigShape[0], bigShape[1]), List.of(big.get("shape").get(0).asLong(), big.get("shape").get(1).asLong()));
    }

    /** Skips (saying why) where the file system stores holes as real blocks: the test would write 9 GiB. */
    private void assumeSparseFiles() throws IOException {
        Path probe = dir.resolve("probe.gguf");
        new GgufWriter().sparseTensor("hole", GgmlType.F32, new long[] {1 << 24}).write(probe); // 64 MiB
        long used = SparseFiles.diskUsage(probe);
        assumeTrue(used < 16 << 20, "the file system of " + dir + " does not keep sparse files sparse (a 64 MiB hole took "
                + used + " bytes); skipping the 9 GiB sparse-file test");
        Files.delete(probe);
    }

    private static String readAll(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static String f(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f GiB", bytes / (double) GiB);
    }

    private static float[] ramp(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return a;
    }
}
