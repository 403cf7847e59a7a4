package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.I;
import static dev.pipeinfer.tensor.Lanes.LANES;
import static dev.pipeinfer.tensor.Lanes.S;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_S2I;

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
     * n = 1 as F16's ({@link F16Format#matvecRows}): on 16 lanes four rows side by side, each chunk widened to
     * floats in registers (exact for every value, Inf and NaN included); on Intel CPUs the tiled path, measured
     * there against reading one row at a time (JMH 5632x2048 on the Xeon, calls/s one row vs tiled: 189-215
     * vs 305-323 on 1 thread, 364-427 vs 480-483 on 2).
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (RowStreams.fourRows() || (LANES != 16 && LANES != 8)) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        MemorySegment s = w.data;
        int whole = w.cols - w.cols % LANES;
        float[] lanes = scratch.lanes;
        for (int r0 = from; r0 < to; r0 += 4) {
            int rows = Math.min(4, to - r0);
            long w0 = w.rowOffset(r0), w1 = w.rowOffset(r0 + Math.min(1, rows - 1));
            long w2 = w.rowOffset(r0 + Math.min(2, rows - 1)), w3 = w.rowOffset(r0 + Math.min(3, rows - 1));
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            int i = 0;
            for (; i + 2 * LANES <= whole; i += 2 * LANES) {
                FloatVector xv = FloatVector.fromArray(F, x, xOffset + i);
                IntVector u0 = (IntVector) ShortVector.fromMemorySegment(S, s, w0 + 2L * i, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                a0 = u0.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, a0);
                IntVector u1 = (IntVector) ShortVector.fromMemorySegment(S, s, w1 + 2L * i, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                a1 = u1.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, a1);
                IntVector u2 = (IntVector) ShortVector.fromMemorySegment(S, s, w2 + 2L * i, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                a2 = u2.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, a2);
                IntVector u3 = (IntVector) ShortVector.fromMemorySegment(S, s, w3 + 2L * i, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                a3 = u3.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, a3);
                xv = FloatVector.fromArray(F, x, xOffset + i + LANES);
                IntVector v0 = (IntVector) ShortVector.fromMemorySegment(S, s, w0 + 2L * (i + LANES), LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                b0 = v0.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, b0);
                IntVector v1 = (IntVector) ShortVector.fromMemorySegment(S, s, w1 + 2L * (i + LANES), LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                b1 = v1.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, b1);
                IntVector v2 = (IntVector) ShortVector.fromMemorySegment(S, s, w2 + 2L * (i + LANES), LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                b2 = v2.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, b2);
                IntVector v3 = (IntVector) ShortVector.fromMemorySegment(S, s, w3 + 2L * (i + LANES), LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                b3 = v3.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, b3);
            }
            if (i < whole) { // an odd chunk count: the last one is even
                FloatVector xv = FloatVector.fromArray(F, x, xOffset + i);
                IntVector u0 = (IntVector) ShortVector.fromMemorySegment(S, s, w0 + 2L * i, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                a0 = u0.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, a0);
                IntVector u1 = (IntVector) ShortVector.fromMemorySegment(S, s, w1 + 2L * i, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                a1 = u1.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, a1);
                IntVector u2 = (IntVector) ShortVector.fromMemorySegment(S, s, w2 + 2L * i, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                a2 = u2.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, a2);
                IntVector u3 = (IntVector) ShortVector.fromMemorySegment(S, s, w3 + 2L * i, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                a3 = u3.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, a3);
            }
            a0.add(b0).intoArray(lanes, 0);
            a1.add(b1).intoArray(lanes, LANES);
            a2.add(b2).intoArray(lanes, 2 * LANES);
            a3.add(b3).intoArray(lanes, 3 * LANES);
            finishFourFloatRows(w, x, xOffset, y, yOffset + r0, r0, rows, lanes);
        }
    }

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

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
