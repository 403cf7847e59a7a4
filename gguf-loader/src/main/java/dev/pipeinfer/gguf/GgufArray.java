package dev.pipeinfer.gguf;

import java.util.Arrays;

/**
 * A metadata array. {@code elements} is a primitive array matching the element type: byte[] for
 * UINT8/INT8, short[] for UINT16/INT16, int[] for UINT32/INT32, long[] for UINT64/INT64, float[],
 * double[], boolean[], String[], or GgufArray[] for nested arrays.
 */
public record GgufArray(GgufValueType elementType, Object elements) {

    public int length() {
        return java.lang.reflect.Array.getLength(elements);
    }

    /** Element i as a long, honouring unsignedness, for the integer element types. */
    public long longAt(int i) {
        return switch (elementType) {
            case UINT8 -> ((byte[]) elements)[i] & 0xFFL;
            case INT8 -> ((byte[]) elements)[i];
            case UINT16 -> ((short[]) elements)[i] & 0xFFFFL;
            case INT16 -> ((short[]) elements)[i];
            case UINT32 -> ((int[]) elements)[i] & 0xFFFF_FFFFL;
            case INT32 -> ((int[]) elements)[i];
            case UINT64, INT64 -> ((long[]) elements)[i];
            default -> throw new IllegalStateException("not an integer array: " + elementType);
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufArray a && a.elementType == elementType && Arrays.deepEquals(
                new Object[] {elements}, new Object[] {a.elements});
    }

    @Override
    public int hashCode() {
        return 31 * elementType.hashCode() + Arrays.deepHashCode(new Object[] {elements});
    }

    @Override
    public String toString() {
        return "[" + length() + " x " + elementType + "]";
    }
}
