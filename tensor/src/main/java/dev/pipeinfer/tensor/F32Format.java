package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/** F32: plain little-endian IEEE binary32, no blocks. Dequantizing is a copy. */
public final class F32Format extends TensorFormat {
    F32Format() {
        super(GgmlType.F32);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        for (int i = 0; i < k; i++) dst[dstOffset + i] = src.get(LE_FLOAT, offset + 4L * i);
    }

    @Override
    public void decodeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        MemorySegment.copy(src, LE_FLOAT, offset, dst, dstOffset, k);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        MemorySegment.copy(src, srcOffset, dst, LE_FLOAT, offset, k);
    }
}
