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
import static jdk.incubator.vector.VectorOperators.S2I;

/** F16: IEEE binary16, little-endian, no blocks. Conversion in both directions is exact / round-to-nearest-even. */
public final class F16Format extends TensorFormat {
    F16Format() {
        super(GgmlType.F16);
    }

    /**
     * Also the tiled path's decoder ({@link #decodeRow} is not overridden): C2 turns this loop into vcvtph2ps
     * over 16 lanes (the Vector API has no half-float conversion), 0.042 ns per weight on the Zen 4 EPYC.
     */
    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        for (int i = 0; i < k; i++) dst[dstOffset + i] = Float.float16ToFloat(src.get(LE_SHORT, offset + 2L * i));
    }

    /**
     * n = 1 on 16 lanes: four rows side by side, as F32's kernel, each chunk of halves converted in registers
     * ({@link #fourRowsConverted}), rows holding Inf or NaN through the tiled path ({@link #finiteRows}); on Intel CPUs ({@link RowStreams}) the
     * tiled path, which decodes rows to floats with vcvtph2ps first (the conversion here multiplies subnormal
     * floats, which Intel cores may handle in microcode; this kernel was measured on AMD only).
     *
     * <p>JMH 5632x2048, calls/s, interleaved runs on the Zen 4 EPYC: this kernel 548-578 on 1 thread and
     * 978-1088 on 2, the same with two rows side by side 383-404 and 708-818, the kernel it replaced (adjacent
     * row pairs decoded to a float array with vcvtph2ps, then multiplied from there) 267-318 and 490-530. In
     * cache (512x2048) 11 200-12 300 calls/s against 7 700: the decoded rows' stores and loads are gone, and
     * the weight loads sit between the FMAs instead of coming in bursts. The Xeon measured the tiled path
     * ahead of row pairs (274-314 vs 240-249 on 1 thread, 520-561 vs 384-455 on 2).
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (RowStreams.fourRows() || (LANES != 16 && LANES != 8)) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        for (int r = from; r < to; r += 4) {
            int rows = Math.min(4, to - r);
            if (finiteRows(w, r, rows)) {
                fourRowsConverted(w, x, xOffset, r, rows, scratch.lanes);
                finishFourFloatRows(w, x, xOffset, y, yOffset + r, r, rows, scratch.lanes);
            } else { // a row holds Inf or NaN: the decoder keeps them, and its sums have the same order
                super.matvecRows(w, x, xOffset, y, yOffset, r, r + rows, scratch);
            }
        }
    }

    /** A half shifted left by 13 as a sign-extended int, masked with this: the bits of its value / 2^112. */
    private static final int SIGN_EXPONENT_MANTISSA = 0x8FFFE000;
    /** From the half's exponent bias (15) to the float's (127); exact for every finite half, subnormals too. */
    private static final float TWO_POW_112 = 0x1p112f;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /**
     * Whether rows [r, r + rows) hold no Inf or NaN, which the in-register conversion cannot take. Each row is
     * scanned once, the first time a matmul reaches it, and remembered ({@link WeightMatrix#rowsChecked}): the
     * kernel checked every chunk before, 15 % of its time on the Zen 2 EPYC (5632x2048, 1 thread, 378 against 445
     * calls/s without the check).
     */
    private static boolean finiteRows(WeightMatrix w, int r, int rows) {
        byte[] checked = w.rowsChecked;
        for (int i = 0; i < rows; i++) {
            if (checked[r + i] == 0) {
                if (!finiteHalves(w.data, w.rowOffset(r + i), w.cols)) return false;
                checked[r + i] = 1;
            }
        }
        return true;
    }

    /** Whether none of the {@code count} halves at {@code offset} is Inf or NaN (exponent bits all ones). */
    private static boolean finiteHalves(MemorySegment s, long offset, int count) {
        int i = 0;
        for (; i + LANES <= count; i += LANES) {
            ShortVector h = ShortVector.fromMemorySegment(S, s, offset + 2L * i, LE);
            if (h.and(HALF_EXPONENT).compare(VectorOperators.EQ, HALF_EXPONENT).anyTrue()) return false;
        }
        for (; i < count; i++) {
            if ((s.get(LE_SHORT, offset + 2L * i) & HALF_EXPONENT) == HALF_EXPONENT) return false;
        }
        return true;
    }

    /** A half's exponent field: all ones for Inf and NaN. */
    private static final short HALF_EXPONENT = 0x7C00;

    /**
     * Rows r0..r0+3 (the last one repeated when {@code rows} < 4) over their whole chunks in {@link Dot}'s order,
     * even + odd accumulator left at {@code lanes[i * LANES]}. A chunk of 16 halves becomes floats in four
     * operations: sign-extend, shift into float position, mask, multiply by 2^112. That is the exact value of
     * every finite half, but a finite number for Inf and NaN, so only rows {@link #finiteRows} clears come here.
     * (The loads are written out: a helper returning vectors is boxed where C2 stops inlining, see
     * {@link LaneSums#sumFourRows}.)
     */
    private static void fourRowsConverted(WeightMatrix w, float[] x, int xOffset, int r0, int rows, float[] lanes) {
        MemorySegment s = w.data;
        long w0 = w.rowOffset(r0), w1 = w.rowOffset(r0 + Math.min(1, rows - 1));
        long w2 = w.rowOffset(r0 + Math.min(2, rows - 1)), w3 = w.rowOffset(r0 + Math.min(3, rows - 1));
        int whole = w.cols - w.cols % LANES;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int i = 0;
        for (; i + 2 * LANES <= whole; i += 2 * LANES) {
            FloatVector xv = FloatVector.fromArray(F, x, xOffset + i);
            IntVector h0 = ((IntVector) ShortVector.fromMemorySegment(S, s, w0 + 2L * i, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            IntVector h1 = ((IntVector) ShortVector.fromMemorySegment(S, s, w1 + 2L * i, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            IntVector h2 = ((IntVector) ShortVector.fromMemorySegment(S, s, w2 + 2L * i, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            IntVector h3 = ((IntVector) ShortVector.fromMemorySegment(S, s, w3 + 2L * i, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            a0 = h0.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_112).fma(xv, a0);
            a1 = h1.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_112).fma(xv, a1);
            a2 = h2.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_112).fma(xv, a2);
            a3 = h3.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_112).fma(xv, a3);
            xv = FloatVector.fromArray(F, x, xOffset + i + LANES);
            h0 = ((IntVector) ShortVector.fromMemorySegment(S, s, w0 + 2L * (i + LANES), LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            h1 = ((IntVector) ShortVector.fromMemorySegment(S, s, w1 + 2L * (i + LANES), LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            h2 = ((IntVector) ShortVector.fromMemorySegment(S, s, w2 + 2L * (i + LANES), LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            h3 = ((IntVector) ShortVector.fromMemorySegment(S, s, w3 + 2L * (i + LANES), LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            b0 = h0.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_112).fma(xv, b0);
            b1 = h1.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_112).fma(xv, b1);
            b2 = h2.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_112).fma(xv, b2);
            b3 = h3.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_112).fma(xv, b3);
        }
        if (i < whole) { // an odd chunk count: the last one is even
            FloatVector xv = FloatVector.fromArray(F, x, xOffset + i);
            IntVector h0 = ((IntVector) ShortVector.fromMemorySegment(S, s, w0 + 2L * i, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            IntVector h1 = ((IntVector) ShortVector.fromMemorySegment(S, s, w1 + 2L * i, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            IntVector h2 = ((IntVector) ShortVector.fromMemorySegment(S, s, w2 + 2L * i, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            IntVector h3 = ((IntVector) ShortVector.fromMemorySegment(S, s, w3 + 2L * i, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            a0 = h0.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_112).fma(xv, a0);
            a1 = h1.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_112).fma(xv, a1);
            a2 = h2.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_112).fma(xv, a2);
            a3 = h3.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_112).fma(xv, a3);
        }
        a0.add(b0).intoArray(lanes, 0);
        a1.add(b1).intoArray(lanes, LANES);
        a2.add(b2).intoArray(lanes, 2 * LANES);
        a3.add(b3).intoArray(lanes, 3 * LANES);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        for (int i = 0; i < k; i++) dst.set(LE_SHORT, offset + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
    }
}
