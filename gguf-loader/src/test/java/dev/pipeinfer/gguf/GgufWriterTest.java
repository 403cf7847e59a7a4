package dev.pipeinfer.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pipeinfer.gguf.testdata.SparseFiles;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufWriterTest {
    @TempDir
    Path dir;

    /** One value of every metadata type, at the edges of its range, plus arrays of each and nested arrays. */
    static Map<String, GgufValue> everyValueType() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("t.u8", GgufValue.of(GgufValueType.UINT8, 255L));
        m.put("t.i8", GgufValue.of(GgufValueType.INT8, -128L));
        m.put("t.u16", GgufValue.of(GgufValueType.UINT16, 65535L));
        m.put("t.i16", GgufValue.of(GgufValueType.INT16, -32768L));
        m.put("t.u32", GgufValue.of(GgufValueType.UINT32, 0xFFFF_FFFFL));
        m.put("t.i32", GgufValue.of(GgufValueType.INT32, (long) Integer.MIN_VALUE));
        m.put("t.u64", GgufValue.of(GgufValueType.UINT64, -1L)); // 2^64-1 keeps its bits
        m.put("t.i64", GgufValue.of(GgufValueType.INT64, Long.MIN_VALUE));
        m.put("t.f32", GgufValue.of(GgufValueType.FLOAT32, 1e-5f));
        m.put("t.f64", GgufValue.of(GgufValueType.FLOAT64, Math.PI));
        m.put("t.bool", GgufValue.ofBool(true));
        m.put("t.str", GgufValue.ofString("Grüße, ▁token ✓"));
        m.put("t.empty", GgufValue.ofString(""));
        m.put("a.u8", arr(GgufValueType.UINT8, new byte[] {0, (byte) 200}));
        m.put("a.i8", arr(GgufValueType.INT8, new byte[] {-1, 7}));
        m.put("a.u16", arr(GgufValueType.UINT16, new short[] {(short) 65000, 1}));
        m.put("a.i16", arr(GgufValueType.INT16, new short[] {-2}));
        m.put("a.u32", arr(GgufValueType.UINT32, new int[] {-1, 3}));
        m.put("a.i32", arr(GgufValueType.INT32, new int[] {Integer.MIN_VALUE, 0, 5}));
        m.put("a.u64", arr(GgufValueType.UINT64, new long[] {-1L}));
        m.put("a.i64", arr(GgufValueType.INT64, new long[] {Long.MAX_VALUE, -9}));
        m.put("a.f32", arr(GgufValueType.FLOAT32, new float[] {Float.NaN, -0.0f, 3.5f}));
        m.put("a.f64", arr(GgufValueType.FLOAT64, new double[] {Double.MIN_VALUE}));
        m.put("a.bool", arr(GgufValueType.BOOL, new boolean[] {true, false, true}));
        m.put("a.str", arr(GgufValueType.STRING, new String[] {"Ġthe", "", "<0x0A>"}));
        m.put("a.empty", arr(GgufValueType.FLOAT32, new float[0]));
        m.put("a.nested", arr(GgufValueType.ARRAY, new GgufArray[] {
                new GgufArray(GgufValueType.STRING, new String[] {"x", "yz"}),
                new GgufArray(GgufValueType.ARRAY, new GgufArray[] {new GgufArray(GgufValueType.INT16, new short[] {4})}),
                new GgufArray(GgufValueType.UINT8, new byte[0])}));
        return m;
    }

    private static GgufValue arr(GgufValueType element, Object elements) {
        return GgufValue.ofArray(new GgufArray(element, elements));
    }

    private static MemorySegment f32(float... values) {
        return MemorySegment.ofArray(values);
    }

    @Test
    void everyValueTypeReadsBackWithItsDeclaredTypeAndValue() throws IOException {
        Map<String, GgufValue> values = everyValueType();
        GgufWriter w = new GgufWriter();
        values.forEach(w::put);
        w.tensor("x", GgmlType.F32, new long[] {3}, f32(1, 2, 3));
        Path file = dir.resolve("types.gguf");
        w.write(file);
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(3, f.version());
            assertEquals(List.copyOf(values.keySet()), List.copyOf(f.metadata().keys()));
            values.forEach((key, v) -> {
                assertEquals(v.type(), f.metadata().typeOf(key), key);
                assertEquals(v.value(), f.metadata().get(key).value(), key);
            });
        }
    }

    @Test
    void honoursGeneralAlignmentAndZeroFillsThePadding() throws IOException {
        Path file = dir.resolve("aligned.gguf");
        new GgufWriter()
                .put("general.alignment", GgufValue.ofUInt32(64))
                .tensor("a", GgmlType.F32, new long[] {3}, f32(1, 2, 3))
                .tensor("b", GgmlType.Q8_0, new long[] {32, 2}, MemorySegment.ofArray(filled(68, (byte) 0x55)))
                .tensor("c", GgmlType.F16, new long[] {5}, MemorySegment.ofArray(filled(10, (byte) 0x11)))
                .write(file);
        byte[] bytes = Files.readAllBytes(file);
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(64, f.alignment());
            assertEquals(GgufValueType.UINT32, f.metadata().typeOf("general.alignment"));
            assertEquals(0, f.dataOffset() % 64);
            assertEquals(List.of(0L, 64L, 192L), f.tensors().stream().map(GgufTensor::offset).toList());
            assertEquals(f.dataOffset() + 256, f.fileSize(), "the last tensor is padded to the alignment too");
            assertEquals(3f, f.tensor("a").data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 2));
            assertZeros(bytes, f.tableEnd(), f.dataOffset());
            assertZeros(bytes, f.dataOffset() + 12, f.dataOffset() + 64);
            assertZeros(bytes, f.dataOffset() + 64 + 68, f.dataOffset() + 192);
            assertZeros(bytes, f.dataOffset() + 192 + 10, f.fileSize());
        }
    }

    @Test
    void writesVersion2OnRequest() throws IOException {
        Path file = dir.resolve("v2.gguf");
        new GgufWriter().version(2).put("k", GgufValue.ofInt32(7)).tensor("x", GgmlType.F32, new long[] {1}, f32(9)).write(file);
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(2, f.version());
            assertEquals(7, f.metadata().getInt("k"));
        }
        assertThrows(IllegalArgumentException.class, () -> new GgufWriter().version(1));
    }

    @Test
    void streamsTensorDataFromACallbackInPieces() throws IOException {
        Path file = dir.resolve("streamed.gguf");
        int rows = 1000;
        new GgufWriter().tensor("big", GgmlType.F32, new long[] {256, rows}, sink -> {
            ByteBuffer row = ByteBuffer.allocate(256 * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int r = 0; r < rows; r++) {
                row.clear();
                for (int i = 0; i < 256; i++) row.putFloat(r + i / 1000f);
                sink.write(row.flip());
            }
        }).write(file);
        try (GgufFile f = GgufFile.open(file)) {
            MemorySegment d = f.tensor("big").data();
            assertEquals(999 + 0.255f, d.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 999L * 256 + 255));
        }
    }

    @Test
    void explicitOffsetsAreKeptAndCheckedForAlignmentAndOverlap() throws IOException {
        Path file = dir.resolve("placed.gguf");
        new GgufWriter()
                .tensorAt(4096, "far", GgmlType.F32, new long[] {2}, sink -> sink.write(f32(5, 6)))
                .tensorAt(0, "near", GgmlType.F32, new long[] {2}, sink -> sink.write(f32(7, 8)))
                .write(file);
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(4096, f.tensor("far").offset());
            assertEquals(6f, f.tensor("far").data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 1));
            assertEquals(List.of("far", "near"), f.tensors().stream().map(GgufTensor::name).toList(), "table order kept");
            Path copy = dir.resolve("copy.gguf");
            GgufWriter.copyOf(f).write(copy);
            assertEquals(-1, Files.mismatch(file, copy), "copyOf keeps a non-standard layout too");
        }
        IllegalArgumentException misaligned = assertThrows(IllegalArgumentException.class, () -> new GgufWriter()
                .tensorAt(16, "x", GgmlType.F32, new long[] {1}, null).write(dir.resolve("m.gguf")));
        assertTrue(misaligned.getMessage().contains("not a multiple of the alignment 32"), misaligned.getMessage());
        IllegalArgumentException overlap = assertThrows(IllegalArgumentException.class, () -> new GgufWriter()
                .tensorAt(0, "x", GgmlType.F32, new long[] {64}, null)
                .tensorAt(224, "y", GgmlType.F32, new long[] {1}, null).write(dir.resolve("o.gguf")));
        assertTrue(overlap.getMessage().contains("overlaps tensor 'x'"), overlap.getMessage());
    }

    @Test
    void refusesValuesThatDoNotMatchTheirDeclaredType() {
        GgufWriter w = new GgufWriter();
        assertThrows(IllegalArgumentException.class, () -> w.put("k", GgufValue.of(GgufValueType.UINT8, 256L)));
        assertThrows(IllegalArgumentException.class, () -> w.put("k", GgufValue.of(GgufValueType.INT32, 1)));
        assertThrows(IllegalArgumentException.class, () -> w.put("k", arr(GgufValueType.INT32, new long[] {1})));
        assertThrows(IllegalArgumentException.class, () -> w.put("general.alignment", GgufValue.ofUInt32(48)));
        assertThrows(IllegalArgumentException.class, () -> w.tensor("q", GgmlType.Q4_0, new long[] {31}, f32()));
        w.tensor("t", GgmlType.F32, new long[] {1}, f32(1));
        assertThrows(IllegalArgumentException.class, () -> w.tensor("t", GgmlType.F32, new long[] {1}, f32(1)));
    }

    @Test
    void aFailedWriteLeavesNeitherAPartialFileNorATemporaryOne() throws IOException {
        Path file = dir.resolve("model.gguf");
        Files.writeString(file, "the previous version");
        GgufWriter failing = new GgufWriter().tensor("t", GgmlType.F32, new long[] {1024}, sink -> {
            sink.write(f32(1, 2, 3));
            throw new IOException("disk on fire");
        });
        IOException e = assertThrows(IOException.class, () -> failing.write(file));
        assertEquals("disk on fire", e.getMessage());
        assertEquals("the previous version", Files.readString(file), "the target is untouched");
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(file), left.toList(), "no temporary file is left behind");
        }
        GgufWriter shortSource = new GgufWriter().tensor("t", GgmlType.F32, new long[] {4}, sink -> sink.write(f32(1)));
        IllegalStateException tooShort = assertThrows(IllegalStateException.class, () -> shortSource.write(file));
        assertTrue(tooShort.getMessage().contains("delivered 4 bytes, the tensor has 16"), tooShort.getMessage());
        assertEquals("the previous version", Files.readString(file));
    }

    @Test
    void sparseTensorsTakeNoDiskAndReadAsZeros() throws IOException {
        Path file = dir.resolve("sparse.gguf");
        new GgufWriter()
                .tensor("small", GgmlType.F32, new long[] {2}, f32(1, 2))
                .sparseTensor("hole", GgmlType.F32, new long[] {1 << 20, 16}) // 64 MiB
                .write(file);
        try (GgufFile f = GgufFile.open(file)) {
            MemorySegment hole = f.tensor("hole").data();
            assertEquals(64L << 20, hole.byteSize());
            assertEquals(0f, hole.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (1L << 24) - 1));
            assertEquals(2f, f.tensor("small").data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 1));
        }
        long onDisk = SparseFiles.diskUsage(file);
        assertTrue(onDisk < (1 << 20), "a 64 MiB hole takes no disk, but the file uses " + onDisk + " bytes");
    }

    private static byte[] filled(int n, byte b) {
        byte[] a = new byte[n];
        java.util.Arrays.fill(a, b);
        return a;
    }

    private static void assertZeros(byte[] bytes, long from, long to) {
        assertFalse(from > to);
        for (long i = from; i < to; i++) assertEquals(0, bytes[(int) i], "padding byte " + i);
    }

    static void assertSameBytes(byte[] expected, MemorySegment actual) {
        assertArrayEquals(expected, actual.toArray(ValueLayout.JAVA_BYTE));
    }
}
