package dev.pipeinfer.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the header, metadata and tensor table of a GGUF image (v2 and v3).
 *
 * <p>Every count, length, dimension, type id and offset is checked against the bytes that remain and
 * against sane bounds <em>before</em> anything is allocated for it, so a hostile or truncated file can
 * at most make the parser allocate on the order of its own size, and every defect surfaces as a
 * {@link GgufFormatException} naming the field and its byte offset.
 */
final class GgufParser {
    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian int
    static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4;
    private static final int MAX_ARRAY_NESTING = 16;
    /** The least bytes a tensor-table entry can take: empty name, 1 dimension, type, offset. */
    private static final int MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;
    /** The least bytes a key/value pair can take: empty key, type, one-byte value. */
    private static final int MIN_KV_BYTES = 8 + 4 + 1;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The parsed table; tensor offsets are relative to {@code dataOffset}. */
    record Header(int version, Map<String, GgufValue> metadata, List<TensorEntry> tensors, int alignment,
                  long tableEnd, long dataOffset) {}

    /**
     * @param index       position in the tensor table
     * @param entryOffset byte offset of the entry's data-offset field (where placement errors point)
     */
    record TensorEntry(int index, String name, GgmlType type, long[] shape, long offset, long byteSize, long entryOffset) {}

    private final Path file;
    private final MemorySegment bytes;
    private final long size;
    private long pos;
    /** Reused for string bytes; never larger than the longest string, which is bounded by the file. */
    private byte[] scratch = new byte[256];
    /** Strings at least this long are decoded through {@link #decodeLong}. */
    private static final int LONG_STRING = 1024;
    private CharsetDecoder utf8;
    private CharBuffer chars;

    private GgufParser(Path file, MemorySegment bytes) {
        this.file = file;
        this.bytes = bytes;
        this.size = bytes.byteSize();
    }

    static Header parse(Path file, MemorySegment bytes) {
        return new GgufParser(file, bytes).header();
    }

    private Header header() {
        if (size < 4 || bytes.get(U32, 0) != MAGIC) {
            String seen = size < 4 ? "the file is only " + size + " bytes long" : "found " + describeMagic();
            throw error("header.magic", 0, "not a GGUF file: expected the magic bytes 'GGUF', " + seen);
        }
        pos = 4;
        int version = readU32AsInt("header.version");
        if (version != 2 && version != 3) {
            int swapped = Integer.reverseBytes(version);
            if (swapped == 2 || swapped == 3) {
                throw error("header.version", 4, "big-endian GGUF file (version reads as " + swapped
                        + " byte-swapped); only little-endian files are supported");
            }
            String hint = version == 1 ? " (GGUF version 1 from 2023 used 32-bit counts; convert the model again with a current llama.cpp)" : "";
            throw error("header.version", 4, "unsupported GGUF version " + Integer.toUnsignedString(version)
                    + "; versions 2 and 3 are supported" + hint);
        }
        long tensorCount = readCount("header.tensor_count", MIN_TENSOR_INFO_BYTES);
        long kvCount = readCount("header.metadata_kv_count", MIN_KV_BYTES);

        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long keyOffset = pos;
            String key = readString("kv[" + i + "] key");
            String field = "kv[" + i + "] " + quote(key);
            if (metadata.containsKey(key)) throw error(field, keyOffset, "duplicate key");
            long typeOffset = pos;
            GgufValueType type = readValueType(field + " type");
            metadata.put(key, new GgufValue(type, readValue(field, type, 0), typeOffset));
        }

        int alignment = alignmentOf(metadata);

        // The count is bounded by the file size, not by int: cap the initial capacity, let the list grow.
        List<TensorEntry> tensors = new ArrayList<>((int) Math.min(tensorCount, 1 << 16));
        Set<String> names = new HashSet<>();
        for (long i = 0; i < tensorCount; i++) {
            tensors.add(readTensorEntry(i, names));
        }
        long tableEnd = pos;
        long dataOffset = alignUp(tableEnd, alignment);
        if (!tensors.isEmpty() && dataOffset > size) {
            throw error("tensor data", tableEnd, "the data section would start at byte " + dataOffset
                    + ", beyond the end of the file (" + size + " bytes)");
        }
        checkPlacement(tensors, alignment, dataOffset);
        return new Header(version, metadata, tensors, alignment, tableEnd, dataOffset);
    }

    private String describeMagic() {
        byte[] b = new byte[4];
        MemorySegment.copy(bytes, ValueLayout.JAVA_BYTE, 0, b, 0, 4);
        StringBuilder sb = new StringBuilder();
        for (byte x : b) sb.append(String.format("%02x", x & 0xFF));
        return "0x" + sb;
    }

    private int alignmentOf(Map<String, GgufValue> metadata) {
        GgufValue a = metadata.get("general.alignment");
        if (a == null) return DEFAULT_ALIGNMENT;
        String field = "key 'general.alignment'";
        if (!a.type().isInteger()) throw error(field, a.offset(), "is " + a.type() + ", expected UINT32");
        long v = (Long) a.value();
        if (v <= 0 || v > (1 << 30) || Long.bitCount(v) != 1) {
            throw error(field, a.offset(), "alignment " + v + " is not a power of two between 1 and 2^30");
        }
        return (int) v;
    }

    private TensorEntry readTensorEntry(long index, Set<String> names) {
        long entryOffset = pos;
        String name = readString("tensor[" + index + "] name");
        String field = "tensor[" + index + "] " + quote(name);
        if (!names.add(name)) throw error(field, entryOffset, "duplicate tensor name");
        long dimsOffset = pos;
        int nDims = readU32AsInt(field + " n_dims");
        if (nDims < 1 || nDims > MAX_DIMS) {
            throw error(field + " n_dims", dimsOffset, "n_dims is " + Integer.toUnsignedString(nDims)
                    + "; ggml tensors have 1 to " + MAX_DIMS + " dimensions");
        }
        need(8L * nDims, field + " shape");
        long[] shape = new long[nDims];
        for (int d = 0; d < nDims; d++) {
            long ne = bytes.get(U64, pos + 8L * d);
            if (ne < 0) {
                throw error(field + " ne[" + d + "]", pos + 8L * d, "dimension " + Long.toUnsignedString(ne) + " is too large");
            }
            shape[d] = ne;
        }
        long shapeOffset = pos;
        pos += 8L * nDims;
        // Rows are multiplied without regard to zero dimensions so that every tensor's row count (which
        // GgufTensor.rows() computes) fits a long even when the row length is 0.
        long rows = 1;
        for (int d = 1; d < nDims; d++) {
            try {
                rows = Math.multiplyExact(rows, shape[d]);
            } catch (ArithmeticException overflow) {
                throw error(field + " ne[" + d + "]", shapeOffset + 8L * d, "the product of the dimensions "
                        + Arrays.toString(Arrays.copyOf(shape, d + 1)) + " overflows a 64-bit count");
            }
        }
        try {
            Math.multiplyExact(shape[0], rows);
        } catch (ArithmeticException overflow) {
            throw error(field + " shape", shapeOffset, "the product of the dimensions " + Arrays.toString(shape)
                    + " overflows a 64-bit count");
        }
        long typeOffset = pos;
        long typeId = readU32(field + " type");
        GgmlType type = GgmlType.byId(typeId);
        if (type == null) throw error(field + " type", typeOffset, "unknown GGML type id " + typeId);
        if (shape[0] % type.blockSize != 0) {
            throw error(field + " ne[0]", shapeOffset, "row length " + shape[0] + " is not a multiple of the "
                    + type + " block size " + type.blockSize);
        }
        long byteSize;
        try {
            byteSize = Math.multiplyExact(type.rowBytes(shape[0]), rows);
        } catch (ArithmeticException overflow) {
            throw error(field + " shape", shapeOffset, "the byte size of " + type + " " + Arrays.toString(shape)
                    + " overflows a 64-bit count");
        }
        long offsetOffset = pos;
        need(8, field + " offset");
        long offset = bytes.get(U64, pos);
        pos += 8;
        if (offset < 0) throw error(field + " offset", offsetOffset, "offset " + Long.toUnsignedString(offset) + " is too large");
        return new TensorEntry((int) index, name, type, shape, offset, byteSize, offsetOffset);
    }

    /** Alignment, bounds and overlap of every tensor's data; entries are checked in offset order. */
    private void checkPlacement(List<TensorEntry> tensors, int alignment, long dataOffset) {
        long available = size - dataOffset;
        for (int i = 0; i < tensors.size(); i++) {
            TensorEntry t = tensors.get(i);
            String field = "tensor[" + i + "] " + quote(t.name()) + " offset";
            if (t.offset() % alignment != 0) {
                throw error(field, t.entryOffset(), "offset " + t.offset() + " is not a multiple of the alignment " + alignment);
            }
            if (t.offset() > available || t.byteSize() > available - t.offset()) {
                throw error(field, t.entryOffset(), "data [" + t.offset() + ", " + (t.offset() + t.byteSize())
                        + ") of the data section (which starts at byte " + dataOffset + ") extends beyond the end of the file ("
                        + size + " bytes)");
            }
        }
        // Sorting entries (not boxed indices) keeps this pass at one reference per tensor.
        List<TensorEntry> byOffset = new ArrayList<>(tensors);
        byOffset.sort(Comparator.comparingLong(TensorEntry::offset));
        for (int j = 1; j < byOffset.size(); j++) {
            TensorEntry prev = byOffset.get(j - 1);
            TensorEntry t = byOffset.get(j);
            if (t.offset() < prev.offset() + prev.byteSize()) {
                throw error("tensor[" + t.index() + "] " + quote(t.name()) + " offset", t.entryOffset(), "data ["
                        + t.offset() + ", " + (t.offset() + t.byteSize()) + ") overlaps tensor " + quote(prev.name()) + " at ["
                        + prev.offset() + ", " + (prev.offset() + prev.byteSize()) + ")");
            }
        }
    }

    private Object readValue(String field, GgufValueType type, int depth) {
        need(type.minEncodedSize(), field);
        return switch (type) {
            case UINT8 -> (long) (bytes.get(ValueLayout.JAVA_BYTE, advance(1)) & 0xFF);
            case INT8 -> (long) bytes.get(ValueLayout.JAVA_BYTE, advance(1));
            case UINT16 -> (long) (bytes.get(U16, advance(2)) & 0xFFFF);
            case INT16 -> (long) bytes.get(U16, advance(2));
            case UINT32 -> bytes.get(U32, advance(4)) & 0xFFFF_FFFFL;
            case INT32 -> (long) bytes.get(U32, advance(4));
            case UINT64, INT64 -> bytes.get(U64, advance(8));
            case FLOAT32 -> bytes.get(F32, advance(4));
            case FLOAT64 -> bytes.get(F64, advance(8));
            case BOOL -> readBool(field);
            case STRING -> readString(field);
            case ARRAY -> readArray(field, depth);
        };
    }

    private Boolean readBool(String field) {
        return readBool(field, -1);
    }

    /** {@code index} is the element's index in an array, or -1; the field name is built only on error. */
    private boolean readBool(String field, long index) {
        long at = advance(1);
        byte b = bytes.get(ValueLayout.JAVA_BYTE, at);
        if (b != 0 && b != 1) throw error(element(field, index), at, "boolean byte is " + (b & 0xFF) + ", expected 0 or 1");
        return b == 1;
    }

    private GgufArray readArray(String field, int depth) {
        if (depth >= MAX_ARRAY_NESTING) throw error(field, pos, "arrays nested deeper than " + MAX_ARRAY_NESTING);
        GgufValueType element = readValueType(field + " element type");
        long countOffset = pos;
        long count = readU64(field + " length");
        long minBytes = Math.max(1, element.minEncodedSize());
        if (count < 0 || count > (size - pos) / minBytes) {
            throw error(field + " length", countOffset, "array of " + Long.toUnsignedString(count) + " " + element
                    + " elements is truncated: only " + (size - pos) + " bytes remain in the file");
        }
        if (count > Integer.MAX_VALUE - 8) {
            throw error(field + " length", countOffset, "array of " + count + " elements is longer than Java arrays allow");
        }
        int n = (int) count;
        long at = pos;
        Object elements = switch (element) {
            case UINT8, INT8 -> {
                byte[] a = new byte[n];
                MemorySegment.copy(bytes, ValueLayout.JAVA_BYTE, at, a, 0, n);
                yield a;
            }
            case UINT16, INT16 -> {
                short[] a = new short[n];
                MemorySegment.copy(bytes, U16, at, a, 0, n);
                yield a;
            }
            case UINT32, INT32 -> {
                int[] a = new int[n];
                MemorySegment.copy(bytes, U32, at, a, 0, n);
                yield a;
            }
            case UINT64, INT64 -> {
                long[] a = new long[n];
                MemorySegment.copy(bytes, U64, at, a, 0, n);
                yield a;
            }
            case FLOAT32 -> {
                float[] a = new float[n];
                MemorySegment.copy(bytes, F32, at, a, 0, n);
                yield a;
            }
            case FLOAT64 -> {
                double[] a = new double[n];
                MemorySegment.copy(bytes, F64, at, a, 0, n);
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) a[i] = readBool(field, i);
                yield a;
            }
            case STRING -> {
                String[] a = new String[n];
                for (int i = 0; i < n; i++) a[i] = readString(field, i);
                yield a;
            }
            case ARRAY -> {
                GgufArray[] a = new GgufArray[n];
                for (int i = 0; i < n; i++) a[i] = readArray(field + "[" + i + "]", depth + 1);
                yield a;
            }
        };
        if (element.fixedSize > 0 && element != GgufValueType.BOOL) pos = at + (long) n * element.fixedSize;
        return new GgufArray(element, elements);
    }

    private GgufValueType readValueType(String field) {
        long at = pos;
        long id = readU32(field);
        GgufValueType type = GgufValueType.byId(id);
        if (type == null) throw error(field, at, "unknown metadata value type " + id);
        return type;
    }

    private String readString(String field) {
        return readString(field, -1);
    }

    /**
     * A length-prefixed UTF-8 string. Vocabularies hold hundreds of thousands of them, so this path
     * allocates only the String itself: bytes go through one reused scratch buffer, and the field name
     * for an error message is put together only when there is an error.
     */
    private String readString(String field, long index) {
        long at = pos;
        if (8 > size - pos) throw error(element(field, index) + " length", pos, "truncated: needs 8 bytes, only "
                + (size - pos) + " remain in the file");
        long length = bytes.get(U64, pos);
        pos += 8;
        if (length < 0 || length > size - pos) {
            throw error(element(field, index), at, "string of " + Long.toUnsignedString(length)
                    + " bytes is truncated: only " + (size - pos) + " bytes remain in the file");
        }
        if (length > Integer.MAX_VALUE - 8) {
            throw error(element(field, index), at, "string of " + length + " bytes is too long");
        }
        int n = (int) length;
        if (n == 0) return "";
        if (scratch.length < n) scratch = new byte[Math.max(n, 2 * scratch.length)];
        MemorySegment.copy(bytes, ValueLayout.JAVA_BYTE, pos, scratch, 0, n);
        pos += n;
        return n < LONG_STRING ? new String(scratch, 0, n, StandardCharsets.UTF_8) : decodeLong(n);
    }

    /**
     * Decodes a long string through reused buffers. The String constructor's own UTF-8 path allocates
     * about five times the length for text that is not Latin-1 (a damaged file can make a megabyte of
     * tensor data into one "string"); this way the only allocation is the String itself. Malformed bytes
     * become U+FFFD either way.
     */
    private String decodeLong(int n) {
        if (utf8 == null) {
            utf8 = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
        }
        if (chars == null || chars.capacity() < n) chars = CharBuffer.allocate(Math.max(n, LONG_STRING * 4));
        utf8.reset();
        chars.clear();
        utf8.decode(ByteBuffer.wrap(scratch, 0, n), chars, true);
        utf8.flush(chars);
        return new String(chars.array(), 0, chars.position());
    }

    /** A key or tensor name for a message: quoted, and cut short if a damaged file made it huge. */
    private static String quote(String name) {
        return name.length() <= 120 ? "'" + name + "'" : "'" + name.substring(0, 100) + "...' (" + name.length() + " chars)";
    }

    private static String element(String field, long index) {
        return index < 0 ? field : field + "[" + index + "]";
    }

    /** A u64 count of items that each take at least {@code minItemBytes}; checked against what remains. */
    private long readCount(String field, int minItemBytes) {
        long at = pos;
        long count = readU64(field);
        long remaining = size - pos;
        if (count < 0 || count > remaining / minItemBytes) {
            throw error(field, at, "count " + Long.toUnsignedString(count) + " cannot fit in the " + remaining
                    + " bytes that remain in the file");
        }
        return count;
    }

    private int readU32AsInt(String field) {
        return (int) readU32(field);
    }

    private long readU32(String field) {
        need(4, field);
        return bytes.get(U32, advance(4)) & 0xFFFF_FFFFL;
    }

    private long readU64(String field) {
        need(8, field);
        return bytes.get(U64, advance(8));
    }

    private long advance(int n) {
        long at = pos;
        pos += n;
        return at;
    }

    private void need(long n, String field) {
        if (n > size - pos) {
            throw error(field, pos, "truncated: needs " + n + " bytes, only " + (size - pos) + " remain in the file");
        }
    }

    private GgufFormatException error(String field, long offset, String problem) {
        return new GgufFormatException(file, field, offset, problem);
    }

    static long alignUp(long x, long alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }
}
