package dev.pipeinfer.gguf;

import java.lang.reflect.Array;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Encodes the part of a GGUF file before the data section (header, metadata, tensor table) into a
 * growable little-endian buffer, and checks that each metadata value is what its declared type says,
 * so that a file we write reads back with exactly the same types and values.
 */
final class GgufEncoder {
    private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

    /** The encoded bytes so far, ready to read. */
    ByteBuffer bytes() {
        return buf.duplicate().flip();
    }

    long position() {
        return buf.position();
    }

    void u32(long v) {
        room(4).putInt((int) v);
    }

    void u64(long v) {
        room(8).putLong(v);
    }

    void string(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        room(8 + utf8.length).putLong(utf8.length).put(utf8);
    }

    /** A value without its type id (the caller writes the id where the format wants it). */
    void value(GgufValueType type, Object v) {
        switch (type) {
            case UINT8, INT8 -> room(1).put((byte) (long) (Long) v);
            case UINT16, INT16 -> room(2).putShort((short) (long) (Long) v);
            case UINT32, INT32 -> room(4).putInt((int) (long) (Long) v);
            case UINT64, INT64 -> room(8).putLong((Long) v);
            case FLOAT32 -> room(4).putFloat((Float) v);
            case FLOAT64 -> room(8).putDouble((Double) v);
            case BOOL -> room(1).put((byte) ((Boolean) v ? 1 : 0));
            case STRING -> string((String) v);
            case ARRAY -> array((GgufArray) v);
        }
    }

    private void array(GgufArray a) {
        u32(a.elementType().id);
        int n = a.length();
        u64(n);
        Object e = a.elements();
        switch (a.elementType()) {
            case UINT8, INT8 -> {
                room(n).put((byte[]) e);
                return;
            }
            case UINT16, INT16 -> room(2L * n).asShortBuffer().put((short[]) e);
            case UINT32, INT32 -> room(4L * n).asIntBuffer().put((int[]) e);
            case UINT64, INT64 -> room(8L * n).asLongBuffer().put((long[]) e);
            case FLOAT32 -> room(4L * n).asFloatBuffer().put((float[]) e);
            case FLOAT64 -> room(8L * n).asDoubleBuffer().put((double[]) e);
            case BOOL -> {
                for (boolean b : (boolean[]) e) room(1).put((byte) (b ? 1 : 0));
                return;
            }
            case STRING -> {
                for (String s : (String[]) e) string(s);
                return;
            }
            case ARRAY -> {
                for (GgufArray inner : (GgufArray[]) e) array(inner);
                return;
            }
        }
        // The typed views (little-endian, like the buffer) start at the position but do not move it.
        buf.position(buf.position() + n * a.elementType().fixedSize);
    }

    /** Makes room for {@code n} more bytes and returns the buffer, positioned where they go. */
    private ByteBuffer room(long n) {
        if (n > buf.remaining()) {
            long needed = buf.position() + n;
            if (needed > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("GGUF header and metadata over 2 GiB are not supported");
            }
            int capacity = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(needed, 2L * buf.capacity()));
            ByteBuffer bigger = ByteBuffer.allocate(capacity).order(ByteOrder.LITTLE_ENDIAN);
            bigger.put(buf.flip());
            buf = bigger;
        }
        return buf;
    }

    /**
     * Checks that {@code v} is the Java representation {@link GgufValue} documents for {@code type} and
     * that an integer lies in its type's range; returns a description of the mismatch, or null.
     */
    static String mismatch(GgufValueType type, Object v) {
        if (v == null) return "value is null";
        return switch (type) {
            case UINT8 -> range(v, 0, 0xFF);
            case INT8 -> range(v, Byte.MIN_VALUE, Byte.MAX_VALUE);
            case UINT16 -> range(v, 0, 0xFFFF);
            case INT16 -> range(v, Short.MIN_VALUE, Short.MAX_VALUE);
            case UINT32 -> range(v, 0, 0xFFFF_FFFFL);
            case INT32 -> range(v, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case UINT64, INT64 -> v instanceof Long ? null : "expected a Long, got " + v.getClass().getSimpleName();
            case FLOAT32 -> v instanceof Float ? null : "expected a Float, got " + v.getClass().getSimpleName();
            case FLOAT64 -> v instanceof Double ? null : "expected a Double, got " + v.getClass().getSimpleName();
            case BOOL -> v instanceof Boolean ? null : "expected a Boolean, got " + v.getClass().getSimpleName();
            case STRING -> v instanceof String ? null : "expected a String, got " + v.getClass().getSimpleName();
            case ARRAY -> v instanceof GgufArray a ? arrayMismatch(a) : "expected a GgufArray, got " + v.getClass().getSimpleName();
        };
    }

    private static String range(Object v, long min, long max) {
        if (!(v instanceof Long x)) return "expected a Long, got " + v.getClass().getSimpleName();
        return x >= min && x <= max ? null : "value " + x + " is outside [" + min + ", " + max + "]";
    }

    private static String arrayMismatch(GgufArray a) {
        if (a.elementType() == null || a.elements() == null) return "array without element type or elements";
        Class<?> expected = switch (a.elementType()) {
            case UINT8, INT8 -> byte[].class;
            case UINT16, INT16 -> short[].class;
            case UINT32, INT32 -> int[].class;
            case UINT64, INT64 -> long[].class;
            case FLOAT32 -> float[].class;
            case FLOAT64 -> double[].class;
            case BOOL -> boolean[].class;
            case STRING -> String[].class;
            case ARRAY -> GgufArray[].class;
        };
        if (a.elements().getClass() != expected) {
            return "array of " + a.elementType() + " must hold a " + expected.getSimpleName() + ", not a "
                    + a.elements().getClass().getSimpleName();
        }
        int n = Array.getLength(a.elements());
        if (a.elementType() == GgufValueType.STRING) {
            for (int i = 0; i < n; i++) if (((String[]) a.elements())[i] == null) return "element " + i + " is null";
        }
        if (a.elementType() == GgufValueType.ARRAY) {
            for (int i = 0; i < n; i++) {
                GgufArray inner = ((GgufArray[]) a.elements())[i];
                String m = inner == null ? "is null" : arrayMismatch(inner);
                if (m != null) return "element " + i + ": " + m;
            }
        }
        return null;
    }
}
