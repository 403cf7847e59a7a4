package dev.pipeinfer.gguf;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a GGUF file: its table entry and its bytes, a read-only slice of the file's mapping.
 *
 * @param shape        dimensions in ggml order: {@code shape[0]} is the row length (a matmul's input size)
 * @param offset       byte offset of the data relative to the start of the file's data section
 * @param byteSize     bytes of data
 * @param data         the bytes, in mapped memory (nothing is copied to the heap)
 */
public record GgufTensor(String name, GgmlType type, long[] shape, long offset, long byteSize, MemorySegment data) {

    public int dimensions() {
        return shape.length;
    }

    /** Elements in a row ({@code shape[0]}). */
    public long rowLength() {
        return shape[0];
    }

    /** Rows: the product of every dimension but the first. */
    public long rows() {
        long r = 1;
        for (int i = 1; i < shape.length; i++) r *= shape[i];
        return r;
    }

    public long elementCount() {
        return rowLength() * rows();
    }

    public long rowBytes() {
        return type.rowBytes(shape[0]);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensor t && t.name.equals(name) && t.type == type && Arrays.equals(t.shape, shape)
                && t.offset == offset && t.byteSize == byteSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Long.hashCode(offset);
    }
}
