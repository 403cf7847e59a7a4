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
     * n = 1 as F16's ({@link F16Format#matvecRows}): rows r and r + half of the slice together, each chunk widened
     * to floats in registers (exact for every value, Inf and NaN included); on Intel CPUs the tiled path,
     * measured there against reading one row at a time (JMH 5632x2048 on the Xeon, calls/s one row vs tiled:
     * 189-215 vs 305-323 on 1 thread, 364-427 vs 480-483 on 2). On the Zen 2 EPYC (AVX2), JMH 5632x2048, calls/s,
     * against the four adjacent rows side by side it replaced, two interleaved runs each: 589 / 592 -> 695 / 665 on
     * 1 thread, 1078 / 1091 -> 1182 / 1264 on 2 (27-29 GB/s).
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (RowStreams.fourRows() || (LANES != 16 && LANES != 8)) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        float[] lanes = scratch.lanes;
        int half = (to - from + 1) / 2;
        for (int r0 = from; r0 < from + half; r0++) {
            int r1 = r0 + half;
            boolean pair = r1 < to; // else the odd last row, computed twice, stored once
            twoRowsWidened(w, x, xOffset, r0, pair ? r1 : r0, lanes);
            y[yOffset + r0] = finishFloatRow(w, x, xOffset, r0, lanes, 0);
            if (pair) y[yOffset + r1] = finishFloatRow(w, x, xOffset, r1, lanes, LANES);
        }
    }

    /**
     * Rows r0 and r1 over their whole chunks in {@link Dot}'s order, even + odd accumulator left at
     * {@code lanes[0]} and {@code lanes[LANES]}; a plain counted loop, so that C2 hoists the bounds checks.
     */
    private static void twoRowsWidened(WeightMatrix w, float[] x, int xOffset, int r0, int r1, float[] lanes) {
        MemorySegment s = w.data;
        long o = w.rowOffset(r0), apart = w.rowOffset(r1) - o;
        int whole = w.cols - w.cols % LANES;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
        int pairs = whole / (2 * LANES);
        for (int p = 0; p < pairs; p++) {
            int i = p * 2 * LANES;
            long at = o + 4L * LANES * p;
            FloatVector xv = FloatVector.fromArray(F, x, xOffset + i);
            IntVector u0 = (IntVector) ShortVector.fromMemorySegment(S, s, at, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
            IntVector u1 = (IntVector) ShortVector.fromMemorySegment(S, s, at + apart, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
            a0 = u0.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, a0);
            a1 = u1.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, a1);
            xv = FloatVector.fromArray(F, x, xOffset + i + LANES);
            u0 = (IntVector) ShortVector.fromMemorySegment(S, s, at + 2 * LANES, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
            u1 = (IntVector) ShortVector.fromMemorySegment(S, s, at + apart + 2 * LANES, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
            b0 = u0.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, b0);
            b1 = u1.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, b1);
        }
        int i = pairs * 2 * LANES;
        if (i < whole) { // an odd chunk count: the last one is even
            long at = o + 2L * i;
            FloatVector xv = FloatVector.fromArray(F, x, xOffset + i);
            IntVector u0 = (IntVector) ShortVector.fromMemorySegment(S, s, at, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
            IntVector u1 = (IntVector) ShortVector.fromMemorySegment(S, s, at + apart, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
            a0 = u0.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, a0);
            a1 = u1.lanewise(LSHL, 16).reinterpretAsFloats().fma(xv, a1);
        }
        a0.add(b0).intoArray(lanes, 0);
        a1.add(b1).intoArray(lanes, LANES);
    }

    /**
     * Batches, as F16's ({@link F16Format#matmulRows}): each weight row against four activation rows at a time,
     * every chunk widened in registers once per four rows (the tiled path decoded every tile to floats first).
     * JMH 5632x2048 on the Zen 2 EPYC, calls/s tiled -> this, 1 thread: n = 2 210 -> 392, n = 4 174 -> 380,
     * n = 8 130 -> 189; 2 threads: 373 -> 785, 307 -> 720, 231 -> 382.
     */
    @Override
    boolean matmulRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                       KernelScratch scratch) {
        if (RowStreams.fourRows() || (LANES != 16 && LANES != 8) || n < 2) return false;
        for (int r = from; r < to; r++) {
            rowInFours(w, x, xOffset, w.cols, x, xOffset, n, y, yOffset, r, scratch.lanes, BF16Format::rowTimesFour,
                    BF16Format::rowTimesTwo);
        }
        return true;
    }

    /**
     * Row r over its whole chunks against four activation rows (from x0 .. x3), in {@link Dot}'s order, each
     * activation row's even + odd accumulator left at {@code lanes[i * LANES]}.
     */
    private static void rowTimesFour(WeightMatrix w, float[] x, int r, int x0, int x1, int x2, int x3, float[] lanes) {
        MemorySegment s = w.data;
        long o = w.rowOffset(r);
        int whole = w.cols - w.cols % LANES;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, v;
        int pairs = whole / (2 * LANES);
        for (int p = 0; p < pairs; p++) {
            int i = p * 2 * LANES;
            long at = o + 4L * LANES * p;
            v = ((IntVector) ShortVector.fromMemorySegment(S, s, at, LE).convertShape(ZERO_EXTEND_S2I, I, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            a0 = v.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = v.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = v.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = v.fma(FloatVector.fromArray(F, x, x3 + i), a3);
            v = ((IntVector) ShortVector.fromMemorySegment(S, s, at + 2 * LANES, LE).convertShape(ZERO_EXTEND_S2I, I, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            b0 = v.fma(FloatVector.fromArray(F, x, x0 + i + LANES), b0);
            b1 = v.fma(FloatVector.fromArray(F, x, x1 + i + LANES), b1);
            b2 = v.fma(FloatVector.fromArray(F, x, x2 + i + LANES), b2);
            b3 = v.fma(FloatVector.fromArray(F, x, x3 + i + LANES), b3);
        }
        int i = pairs * 2 * LANES;
        if (i < whole) { // an odd chunk count: the last one is even
            v = ((IntVector) ShortVector.fromMemorySegment(S, s, o + 2L * i, LE).convertShape(ZERO_EXTEND_S2I, I, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            a0 = v.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = v.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = v.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = v.fma(FloatVector.fromArray(F, x, x3 + i), a3);
        }
        a0.add(b0).intoArray(lanes, 0);
        a1.add(b1).intoArray(lanes, LANES);
        a2.add(b2).intoArray(lanes, 2 * LANES);
        a3.add(b3).intoArray(lanes, 3 * LANES);
    }

    /** {@link #rowTimesFour} against two activation rows (x1 may equal x0), for a remainder of one or two. */
    private static void rowTimesTwo(WeightMatrix w, float[] x, int r, int x0, int x1, float[] lanes) {
        MemorySegment s = w.data;
        long o = w.rowOffset(r);
        int whole = w.cols - w.cols % LANES;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, v;
        int pairs = whole / (2 * LANES);
        for (int p = 0; p < pairs; p++) {
            int i = p * 2 * LANES;
            long at = o + 4L * LANES * p;
            v = ((IntVector) ShortVector.fromMemorySegment(S, s, at, LE).convertShape(ZERO_EXTEND_S2I, I, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            a0 = v.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = v.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            v = ((IntVector) ShortVector.fromMemorySegment(S, s, at + 2 * LANES, LE).convertShape(ZERO_EXTEND_S2I, I, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            b0 = v.fma(FloatVector.fromArray(F, x, x0 + i + LANES), b0);
            b1 = v.fma(FloatVector.fromArray(F, x, x1 + i + LANES), b1);
        }
        int i = pairs * 2 * LANES;
        if (i < whole) { // an odd chunk count: the last one is even
            v = ((IntVector) ShortVector.fromMemorySegment(S, s, o + 2L * i, LE).convertShape(ZERO_EXTEND_S2I, I, 0)).lanewise(LSHL, 16).reinterpretAsFloats();
            a0 = v.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = v.fma(FloatVector.fromArray(F, x, x1 + i), a1);
        }
        a0.add(b0).intoArray(lanes, 0);
        a1.add(b1).intoArray(lanes, LANES);
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
