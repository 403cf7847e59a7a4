package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import dev.pipeinfer.gguf.GgufTensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A 2-D weight tensor as the kernels use it: {@code rows} rows of {@code cols} elements of one ggml type,
 * stored row after row in {@code data} (usually a slice of the model file's read-only mapping; it is never
 * copied). In ggml terms {@code cols} is ne[0] (the input dimension of a matmul) and {@code rows} is ne[1].
 */
public final class WeightMatrix {
    public final GgmlType type;
    public final MemorySegment data;
    public final int rows;
    public final int cols;
    public final long rowBytes;
    final TensorFormat format;
    /**
     * Rows a fast kernel has found free of the values it cannot take (F16's Inf and NaN), one flag per row, set
     * as they are found, so that later calls skip the check; null for types that need none. The weights never
     * change under a matrix (they are a read-only file mapping), so a flag stays true. Written by the thread
     * that owns the row in a matmul; a flag another thread has not seen yet only costs it the check.
     */
    final byte[] rowsChecked;

    /**
     * @throws IllegalArgumentException when the type has no kernels, {@code cols} is not a whole number of
     *         blocks, or {@code data} is smaller than rows x rowBytes
     */
    public WeightMatrix(GgmlType type, MemorySegment data, int rows, int cols) {
        if (!TensorFormat.isSupported(type)) {
            throw new IllegalArgumentException("no kernels for ggml type " + type + " (id " + type.id + ")");
        }
        if (rows < 0 || cols <= 0) throw new IllegalArgumentException("bad shape: rows=" + rows + " cols=" + cols);
        this.type = type;
        this.format = TensorFormat.of(type);
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = format.rowBytes(cols);
        this.rowsChecked = type == GgmlType.F16 ? new byte[rows] : null;
        long need = rowBytes * rows;
        if (data.byteSize() < need) {
            throw new IllegalArgumentException(type + " matrix " + rows + "x" + cols + " needs " + need
                    + " bytes but the segment has " + data.byteSize());
        }
    }

    /**
     * The matrix view of a GGUF tensor (1-D tensors are one row). Fails with the tensor's name when its
     * type has no kernels or its shape does not fit int rows/columns.
     */
    public static WeightMatrix of(GgufTensor t) {
        if (t.rowLength() > Integer.MAX_VALUE || t.rows() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor " + t.name() + " " + Arrays.toString(t.shape()) + " is too large for a weight matrix");
        }
        try {
            return new WeightMatrix(t.type(), t.data(), (int) t.rows(), (int) t.rowLength());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("tensor " + t.name() + ": " + e.getMessage(), e);
        }
    }

    /** Byte offset of row {@code r} in {@link #data}. */
    public long rowOffset(int r) {
        return r * rowBytes;
    }

    @Override
    public String toString() {
        return type + "[" + rows + " x " + cols + "]";
    }
}
