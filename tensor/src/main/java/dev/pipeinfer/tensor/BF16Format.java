package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.I;
import static dev.pipeinfer.tensor.Lanes.LANES;
import static dev.pipeinfer.tensor.Lanes.S;

/** BF16: the top 16 bits of an IEEE binary32, little-endian, no blocks. */
public final class BF16Format extends TensorFormat {
    BF16Format() {
        super(GgmlType.BF16);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        for (int i = 0; i < k; i++) dst[dstOffset + i] = Float.intBitsToFloat((src.get(LE_SHORT, offset + 2L * i) & 0xFFFF) << 16);
    }

    @Override
    public void decodeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        int i = 0;
        if (Lanes.USABLE) {
            for (; i + LANES <= k; i += LANES) {
                IntVector h = (IntVector) ShortVector.fromMemorySegment(S, src, offset + 2L * i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstOffset + i);
            }
        }
        dequantizeRow(src, offset + 2L * i, dst, dstOffset + i, k - i);
    }

    /**
     * n = 1 as F16's ({@link RowStreams}). JMH 5632x2048 on the Xeon, calls/s one row vs tiled: 189-215 vs
     * 305-323 on 1 thread, 364-427 vs 480-483 on 2.
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (RowStreams.fourRows()) super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
        else rowPairsDecoded(w, x, xOffset, y, yOffset, from, to, scratch);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** ggml's fp32->bf16: round to nearest even; NaNs stay NaN (quiet bit forced). */
    @Override
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        for (int i = 0; i < k; i++) {
            int u = Float.floatToRawIntBits(src[srcOffset + i]);
            int bits = (u & 0x7fffffff) > 0x7f800000 ? (u >>> 16) | 64 : (u + (0x7fff + ((u >>> 16) & 1))) >>> 16;
            dst.set(LE_SHORT, offset + 2L * i, (short) bits);
        }
    }
}
