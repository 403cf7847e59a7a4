package dev.pipeinfer.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.management.ThreadMXBean;
import dev.pipeinfer.gguf.testdata.TestData;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Seeded mutations of real files: truncations, byte flips in the header, and count or length fields
 * patched to huge or off-by-one values. Every case must end in a clean load or a
 * {@link GgufFormatException}: no other exception, no hang, and no allocation out of proportion to
 * the file (which is what a parser that allocates before checking sizes would do with a patched count).
 *
 * <p>The mutants are parsed from memory ({@link GgufFile#fromImage}): the same parser and tensor slicing
 * as {@link GgufFile#open}, without writing thousands of files to a shared disk.
 */
class MutationTest {
    /**
     * A clean load of a vocabulary allocates up to ~6x its file size (each short token costs a String
     * header and an array header); anything near a patched count of 2^40 would be gigabytes.
     */
    private static final long ALLOCATION_PER_FILE_BYTE = 8;
    private static final long ALLOCATION_SLACK = 1 << 20;

    private static final ThreadMXBean THREADS = (ThreadMXBean) ManagementFactory.getThreadMXBean();

    /**
     * How to make one mutated file from the original: keep its first {@code length} bytes and write
     * {@code patch} (little-endian) at {@code at}, when {@code patchBytes} > 0. {@code how} says it in
     * words, so that a failure can be reproduced from its message.
     */
    private record Case(String kind, String how, int length, int at, long patch, int patchBytes) {
        static Case truncation(int length) {
            return new Case("truncation", "to " + length + " bytes", length, 0, 0, 0);
        }

        int apply(byte[] original, byte[] work) {
            System.arraycopy(original, 0, work, 0, length);
            ByteBuffer buf = ByteBuffer.wrap(work).order(ByteOrder.LITTLE_ENDIAN);
            if (patchBytes == 8) buf.putLong(at, patch);
            if (patchBytes == 1) buf.put(at, (byte) patch);
            return length;
        }
    }

    @ParameterizedTest(name = "{0}: {1} truncations, {2} byte flips, {3} patched counts")
    @CsvSource({
            "models/stories260K.gguf,                 500, 1000, 500",
            "tokenizer/ggml-vocab-llama-spm.gguf,     200,  400, 200",
            "models/llama-2-tiny-random.gguf,         200,  400, 200"})
    void everyMutationLoadsOrIsRefusedCleanly(String file, int truncations, int flips, int patches) throws IOException {
        Path original = TestData.find(file).orElseThrow();
        byte[] bytes = Files.readAllBytes(original);
        GgufParser.Header layout = GgufParser.parse(original, MemorySegment.ofArray(bytes));
        Random random = new Random(0x6767_7566L ^ file.hashCode()); // seeded: the same cases every run

        List<Case> cases = new ArrayList<>();
        cases.addAll(truncations(bytes, layout, random, truncations));
        cases.addAll(byteFlips(bytes, layout, random, flips));
        cases.addAll(patchedCounts(bytes, layout, random, patches));

        Map<String, int[]> outcomes = new TreeMap<>(); // kind -> {loaded, refused}
        long[] slowest = {0}, cpu = {0};
        Path mutant = Path.of("mutant-of-" + original.getFileName()); // only a label: images stay in memory
        byte[] work = new byte[bytes.length];
        long allocationBound = ALLOCATION_PER_FILE_BYTE * bytes.length + ALLOCATION_SLACK;
        // One generous bound for the whole run: a parser that loops or waits on a mutated count hangs here.
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            long cpu0 = THREADS.getCurrentThreadCpuTime();
            for (Case c : cases) {
                MemorySegment image = MemorySegment.ofArray(work).asSlice(0, c.apply(bytes, work));
                long t0 = System.nanoTime();
                long allocated0 = THREADS.getCurrentThreadAllocatedBytes();
                boolean loaded = false;
                try (GgufFile f = GgufFile.fromImage(mutant, image)) {
                    for (GgufTensor t : f.tensors()) assertEquals(t.byteSize(), t.data().byteSize());
                    loaded = true;
                } catch (GgufFormatException expected) {
                    assertTrue(expected.getMessage().startsWith(mutant + ": "), expected.getMessage());
                } catch (Throwable other) {
                    fail(c.kind() + " " + c.how() + " of " + file + " threw " + other, other);
                }
                long allocated = THREADS.getCurrentThreadAllocatedBytes() - allocated0;
                slowest[0] = Math.max(slowest[0], System.nanoTime() - t0);
                if (allocated > allocationBound) {
                    fail(c.kind() + " " + c.how() + " of " + file + " allocated " + allocated
                            + " bytes, more than " + allocationBound + " for a file of " + bytes.length);
                }
                outcomes.computeIfAbsent(c.kind(), k -> new int[2])[loaded ? 0 : 1]++;
            }
            cpu[0] = THREADS.getCurrentThreadCpuTime() - cpu0;
        });
        StringBuilder report = new StringBuilder("[mutation] " + file + ": " + cases.size() + " cases;");
        outcomes.forEach((kind, n) -> report.append(' ').append(kind).append(" loaded ").append(n[0])
                .append(" refused ").append(n[1]).append(';'));
        System.out.println(report + " slowest case " + slowest[0] / 1_000_000 + " ms, CPU " + cpu[0] / 1_000_000 + " ms");
        // Each kind must actually reach the parser's checks, not just load unchanged.
        outcomes.forEach((kind, n) -> assertTrue(n[1] > 0, kind + " never produced a refused file"));
    }

    /** Cuts anywhere in the header and table (where every byte matters), and a few in the tensor data. */
    private static List<Case> truncations(byte[] bytes, GgufParser.Header layout, Random random, int n) {
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            cases.add(Case.truncation(i % 8 == 7 ? random.nextInt(bytes.length) : random.nextInt((int) layout.dataOffset() + 1)));
        }
        return cases;
    }

    /** One byte of the header or table replaced, half of the time near the start, where the structure is dense. */
    private static List<Case> byteFlips(byte[] bytes, GgufParser.Header layout, Random random, int n) {
        List<Case> cases = new ArrayList<>();
        int head = (int) layout.tableEnd();
        for (int i = 0; i < n; i++) {
            int at = random.nextBoolean() ? random.nextInt(Math.min(head, 4096)) : random.nextInt(head);
            int b = random.nextBoolean() ? bytes[at] ^ (1 << random.nextInt(8)) : random.nextInt(256);
            cases.add(new Case("byte flip", String.format("[%d]=0x%02x", at, b & 0xFF), bytes.length, at, b, 1));
        }
        return cases;
    }

    /** Every u64 count, length, dimension and offset field, patched to values chosen to break bounds checks. */
    private static List<Case> patchedCounts(byte[] bytes, GgufParser.Header layout, Random random, int n) {
        List<Long> fields = countFields(layout, bytes);
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int at = (int) (long) fields.get(random.nextInt(fields.size()));
            long was = buf.getLong(at);
            long remaining = bytes.length - at - 8;
            long[] candidates = {-1L, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 62, 1L << 40, 1L << 32, (1L << 32) + was,
                    Integer.MAX_VALUE, Integer.MAX_VALUE - 8, remaining, remaining + 1, remaining / 8, remaining / 2,
                    bytes.length, was + 1, was - 1, was * 2, was * 1000, 0};
            long value = candidates[random.nextInt(candidates.length)];
            cases.add(new Case("patched count", "[" + at + "] " + was + " -> " + Long.toUnsignedString(value),
                    bytes.length, at, value, 8));
        }
        return cases;
    }

    /** Offsets of the file's u64 fields: header counts, key/string lengths, array counts, shapes, data offsets. */
    private static List<Long> countFields(GgufParser.Header layout, byte[] bytes) {
        List<Long> at = new ArrayList<>(List.of(8L, 16L));
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        layout.metadata().forEach((key, v) -> {
            at.add(v.offset() - 8 - key.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
            if (v.type() == GgufValueType.STRING) at.add(v.offset() + 4);
            if (v.type() == GgufValueType.ARRAY) {
                at.add(v.offset() + 8);
                GgufArray a = (GgufArray) v.value();
                if (a.elementType() == GgufValueType.STRING) {
                    long p = v.offset() + 16; // first element's length, then every 97th
                    for (int i = 0; i < a.length(); i++) {
                        if (i % 97 == 0) at.add(p);
                        p += 8 + buf.getLong((int) p);
                    }
                }
            }
        });
        for (GgufParser.TensorEntry t : layout.tensors()) {
            long shape = t.entryOffset() - 4 - 8L * t.shape().length;
            for (int d = 0; d < t.shape().length; d++) at.add(shape + 8L * d);
            at.add(t.entryOffset());
            at.add(shape - 4 - 8 - t.name().getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        }
        return at;
    }
}
