package dev.pipeinfer.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each kind of defect is refused with its own message, naming the field and the byte where it is. The
 * broken files are well-formed files from {@link GgufWriter} with a few bytes patched.
 */
class MalformedFilesTest {
    @TempDir
    Path dir;

    /** The well-formed file every case starts from, and where its fields are. */
    private byte[] good;
    private GgufParser.Header layout;

    @BeforeEach
    void writeAGoodFile() throws IOException {
        Path file = dir.resolve("good.gguf");
        new GgufWriter()
                .put("general.architecture", GgufValue.ofString("llama"))
                .put("general.alignment", GgufValue.ofUInt32(64))
                .put("x.name", GgufValue.ofString("abc"))
                .put("x.list", GgufValue.ofArray(new GgufArray(GgufValueType.STRING, new String[] {"p", "q", "r"})))
                .put("x.aaa", GgufValue.ofUInt32(5))
                .put("x.aab", GgufValue.ofFloat32(0.5f))
                .tensor("a", GgmlType.F32, new long[] {4}, MemorySegment.ofArray(new float[] {1, 2, 3, 4}))
                .tensor("b", GgmlType.F32, new long[] {8, 2}, MemorySegment.ofArray(new float[16]))
                .write(file);
        good = Files.readAllBytes(file);
        layout = GgufParser.parse(file, MemorySegment.ofArray(good));
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(2, f.tensors().size(), "the unpatched file loads");
        }
    }

    @Test
    void badMagic() throws IOException {
        GgufFormatException e = refused(b -> b.put(0, "GGML".getBytes(StandardCharsets.US_ASCII)));
        assertError(e, "header.magic", 0, "not a GGUF file: expected the magic bytes 'GGUF', found 0x47474d4c");
    }

    @Test
    void version1IsRefusedByName() throws IOException {
        GgufFormatException e = refused(b -> b.putInt(4, 1));
        assertError(e, "header.version", 4, "unsupported GGUF version 1");
        assertTrue(e.problem().contains("GGUF version 1 from 2023"), e.problem());
    }

    @Test
    void futureVersion() throws IOException {
        assertError(refused(b -> b.putInt(4, 4)), "header.version", 4, "unsupported GGUF version 4; versions 2 and 3 are supported");
    }

    @Test
    void bigEndianFile() throws IOException {
        GgufFormatException e = refused(b -> b.order(ByteOrder.BIG_ENDIAN).putInt(4, 3));
        assertError(e, "header.version", 4, "big-endian GGUF file");
    }

    @Test
    void unknownMetadataValueType() throws IOException {
        long at = value("x.aaa").offset();
        assertError(refused(b -> b.putInt((int) at, 13)), "kv[4] 'x.aaa' type", at, "unknown metadata value type 13");
    }

    @Test
    void unknownGgmlTypeId() throws IOException {
        long at = tensor("b").entryOffset() - 4;
        assertError(refused(b -> b.putInt((int) at, 4)), "tensor[1] 'b' type", at, "unknown GGML type id 4");
    }

    @Test
    void moreThanFourDimensions() throws IOException {
        long at = nDimsOffset(tensor("a"));
        assertError(refused(b -> b.putInt((int) at, 5)), "tensor[0] 'a' n_dims", at, "n_dims is 5; ggml tensors have 1 to 4 dimensions");
    }

    @Test
    void dimensionProductOverflow() throws IOException {
        long shape = nDimsOffset(tensor("b")) + 4;
        GgufFormatException e = refused(b -> b.putLong((int) shape + 8, 1L << 61));
        assertError(e, "tensor[1] 'b' shape", shape, "the product of the dimensions [8, 2305843009213693952] overflows a 64-bit count");
    }

    @Test
    void tensorDataBeyondTheEndOfTheFile() throws IOException {
        byte[] cut = Arrays.copyOf(good, good.length - 4);
        GgufFormatException e = open(cut);
        assertError(e, "tensor[1] 'b' offset", tensor("b").entryOffset(), "data [64, 128) of the data section");
        assertTrue(e.problem().endsWith("extends beyond the end of the file (" + cut.length + " bytes)"), e.problem());
    }

    @Test
    void misalignedTensorOffset() throws IOException {
        long at = tensor("b").entryOffset();
        assertError(refused(b -> b.putLong((int) at, 96)), "tensor[1] 'b' offset", at, "offset 96 is not a multiple of the alignment 64");
    }

    @Test
    void overlappingTensors() throws IOException {
        long at = tensor("b").entryOffset();
        assertError(refused(b -> b.putLong((int) at, 0)), "tensor[1] 'b' offset", at, "data [0, 64) overlaps tensor 'a' at [0, 16)");
    }

    @Test
    void duplicateTensorName() throws IOException {
        long nameBytes = nDimsOffset(tensor("b")) - 1; // the name "b" is one byte, just before n_dims
        long entry = nameBytes - 8;
        assertError(refused(b -> b.put((int) nameBytes, (byte) 'a')), "tensor[1] 'a'", entry, "duplicate tensor name");
    }

    @Test
    void duplicateKey() throws IOException {
        long key = value("x.aab").offset() - 8 - 5; // "x.aab" is 5 bytes, after its u64 length
        assertError(refused(b -> b.put((int) key + 12, (byte) 'a')), "kv[5] 'x.aaa'", key, "duplicate key");
    }

    @Test
    void truncatedString() throws IOException {
        long length = value("x.name").offset() + 4;
        GgufFormatException e = refused(b -> b.putLong((int) length, 100_000));
        assertError(e, "kv[2] 'x.name'", length, "string of 100000 bytes is truncated: only");
    }

    @Test
    void fileEndsInsideAString() throws IOException {
        long length = value("x.name").offset() + 4;
        GgufFormatException e = open(Arrays.copyOf(good, (int) length + 9)); // the length and one of 3 bytes
        assertError(e, "kv[2] 'x.name'", length, "string of 3 bytes is truncated: only 1 bytes remain in the file");
    }

    @Test
    void truncatedArray() throws IOException {
        long count = value("x.list").offset() + 8; // after the value type and the element type
        GgufFormatException e = refused(b -> b.putLong((int) count, 1L << 40));
        assertError(e, "kv[3] 'x.list' length", count, "array of 1099511627776 STRING elements is truncated: only");
    }

    @Test
    void hugeCountsAreRefusedBeforeAnythingIsAllocated() throws IOException {
        GgufFormatException tensors = refused(b -> b.putLong(8, -1L));
        assertError(tensors, "header.tensor_count", 8, "count 18446744073709551615 cannot fit in the");
        GgufFormatException keys = refused(b -> b.putLong(16, Long.MAX_VALUE));
        assertError(keys, "header.metadata_kv_count", 16, "count 9223372036854775807 cannot fit in the");
    }

    @Test
    void alignmentThatIsNotAPowerOfTwo() throws IOException {
        long at = value("general.alignment").offset();
        assertError(refused(b -> b.putInt((int) at + 4, 48)), "key 'general.alignment'", at,
                "alignment 48 is not a power of two between 1 and 2^30");
        assertError(refused(b -> b.putInt((int) at + 4, 0)), "key 'general.alignment'", at,
                "alignment 0 is not a power of two");
    }

    @Test
    void missingKeyThroughMetadata() throws IOException {
        try (GgufFile f = GgufFile.open(dir.resolve("good.gguf"))) {
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> f.metadata().getInt("llama.block_count"));
            assertError(e, "key 'llama.block_count'", -1, "missing");
            assertTrue(e.getMessage().startsWith(dir.resolve("good.gguf") + ": key 'llama.block_count': missing"), e.getMessage());
        }
    }

    @Test
    void illTypedKeyThroughMetadata() throws IOException {
        try (GgufFile f = GgufFile.open(dir.resolve("good.gguf"))) {
            GgufMetadata md = f.metadata();
            assertError(assertThrows(GgufFormatException.class, () -> md.getInt("x.name")),
                    "key 'x.name'", value("x.name").offset(), "is STRING, expected an integer");
            assertError(assertThrows(GgufFormatException.class, () -> md.getString("x.aaa")),
                    "key 'x.aaa'", value("x.aaa").offset(), "is UINT32, expected STRING");
            assertError(assertThrows(GgufFormatException.class, () -> md.getFloatArray("x.list")),
                    "key 'x.list'", value("x.list").offset(), "is an array of STRING, expected an array of floats");
            assertError(assertThrows(GgufFormatException.class, () -> md.getBoolean("x.aab")),
                    "key 'x.aab'", value("x.aab").offset(), "is FLOAT32, expected BOOL");
            GgufFormatException noTensor = assertThrows(GgufFormatException.class, () -> f.tensor("output.weight"));
            assertError(noTensor, "tensor 'output.weight'", -1, "missing from the tensor table");
        }
    }

    // ---- helpers ----

    private GgufValue value(String key) {
        return layout.metadata().get(key);
    }

    private GgufParser.TensorEntry tensor(String name) {
        return layout.tensors().stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }

    /** Where a tensor entry's n_dims is: before its shape, its type id and the offset field. */
    private static long nDimsOffset(GgufParser.TensorEntry t) {
        return t.entryOffset() - 4 - 8L * t.shape().length - 4;
    }

    /** The good file with a patch applied (through a little-endian buffer over a copy) must be refused. */
    private GgufFormatException refused(Consumer<ByteBuffer> patch) throws IOException {
        byte[] bytes = good.clone();
        patch.accept(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN));
        return open(bytes);
    }

    private GgufFormatException open(byte[] bytes) throws IOException {
        Path bad = dir.resolve("bad.gguf");
        Files.write(bad, bytes);
        Executable load = () -> GgufFile.open(bad).close();
        GgufFormatException e = assertThrows(GgufFormatException.class, load);
        assertEquals(bad, e.file());
        return e;
    }

    private static void assertError(GgufFormatException e, String field, long offset, String problem) {
        assertEquals(field, e.field(), e.getMessage());
        assertEquals(offset, e.offset(), e.getMessage());
        assertTrue(e.problem().startsWith(problem), () -> "expected the problem to start with \"" + problem + "\": " + e.getMessage());
        String where = offset >= 0 ? " (byte " + offset + ")" : "";
        assertEquals(e.file() + ": " + field + where + ": " + e.problem(), e.getMessage(), "one line naming file, field and offset");
        assertTrue(e.getMessage().indexOf('\n') < 0);
    }
}
