package dev.pipeinfer.gguf;

/**
 * One metadata value with its declared type, so that a written-back file keeps every type.
 *
 * <p>Representation of {@link #value()}: integer types as {@code Long} holding the value (UINT64 above
 * {@code Long.MAX_VALUE} keeps its bits), FLOAT32 as {@code Float}, FLOAT64 as {@code Double}, BOOL as
 * {@code Boolean}, STRING as {@code String}, ARRAY as {@link GgufArray}.
 *
 * @param offset byte offset of the value in the file, or -1 for values made in memory
 */
public record GgufValue(GgufValueType type, Object value, long offset) {

    public static GgufValue of(GgufValueType type, Object value) {
        return new GgufValue(type, value, -1);
    }

    public static GgufValue ofString(String s) {
        return of(GgufValueType.STRING, s);
    }

    public static GgufValue ofUInt32(long v) {
        return of(GgufValueType.UINT32, v);
    }

    public static GgufValue ofInt32(int v) {
        return of(GgufValueType.INT32, (long) v);
    }

    public static GgufValue ofFloat32(float v) {
        return of(GgufValueType.FLOAT32, v);
    }

    public static GgufValue ofBool(boolean v) {
        return of(GgufValueType.BOOL, v);
    }

    public static GgufValue ofArray(GgufArray array) {
        return of(GgufValueType.ARRAY, array);
    }

    @Override
    public String toString() {
        if (type == GgufValueType.UINT64 && value instanceof Long l) return Long.toUnsignedString(l);
        return String.valueOf(value);
    }
}
