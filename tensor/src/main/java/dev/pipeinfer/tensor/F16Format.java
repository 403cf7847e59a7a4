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
     * n = 1 (8 or 16 lanes): rows r and r + half of the slice [from, to) together, as {@link Q8_0Format}'s kernel
     * (four FMA chains, two memory streams pages apart), each chunk of halves converted in registers
     * ({@link #twoRowsConverted}) against the activations scaled by 2^112 ({@link #scaleActivations}). Rows
     * holding Inf or NaN ({@link #finiteRows}) and activations too large to scale take the tiled path, which
     * decodes rows to floats with vcvtph2ps first and gives the same bits. On Intel CPUs ({@link RowStreams})
     * the tiled path throughout (the FMAs here take subnormal floats, which Intel cores may handle in
     * microcode; this kernel was measured on AMD only).
     *
     * <p>On the Zen 2 EPYC (AVX2), JMH 5632x2048, calls/s, against the four adjacent rows side by side it
     * replaced (which multiplied every converted chunk by 2^112), two interleaved runs each: 415 / 414 -> 638 /
     * 663 on 1 thread, 803 / 811 -> 1228 / 1255 on 2 (28.6 GB/s). Of that, the two rows apart and the dropped
     * multiply gave 587 and 1113-1141; the loop written as a plain counted loop the rest (counting i by
     * 2 LANES while {@code i + 2 LANES <= whole}, as the old kernel did, C2 kept a bounds check on every load and
     * unrolled nothing; counting pairs {@code p < pairs}, it hoists the checks and unrolls). Earlier, on the Zen 4 EPYC, the four-row
     * kernel ran 548-578 on 1 thread and 978-1088 on 2 against 267-318 and 490-530 for adjacent row pairs decoded
     * to a float array first; the Xeon measured the tiled path ahead of row pairs (274-314 vs 240-249 on 1
     * thread, 520-561 vs 384-455 on 2).
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        int whole = w.cols - w.cols % LANES;
        float[] scaled = scratch.reorderedActivations(whole);
        if (RowStreams.fourRows() || (LANES != 16 && LANES != 8) || !scaleActivations(x, xOffset, whole, scaled, 0)) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        float[] lanes = scratch.lanes;
        int half = (to - from + 1) / 2;
        for (int r0 = from; r0 < from + half; r0++) {
            int r1 = r0 + half;
            boolean pair = r1 < to; // else the odd last row, computed twice, stored once
            if (!finiteRows(w, r0) || (pair && !finiteRows(w, r1))) { // the decoder keeps Inf and NaN, in the same order
                super.matvecRows(w, x, xOffset, y, yOffset, r0, r0 + 1, scratch);
                if (pair) super.matvecRows(w, x, xOffset, y, yOffset, r1, r1 + 1, scratch);
                continue;
            }
            twoRowsConverted(w, scaled, r0, pair ? r1 : r0, lanes);
            y[yOffset + r0] = finishFloatRow(w, x, xOffset, r0, lanes, 0);
            if (pair) y[yOffset + r1] = finishFloatRow(w, x, xOffset, r1, lanes, LANES);
        }
    }

    /**
     * x[xOffset ..] times 2^112 into {@code scaled[at .. at + whole)}, or false when a finite |x| is 2^16 or more (it
     * would overflow). A half's bits moved into float position are its value / 2^112 ({@link #TWO_POW_112}), so
     * each product with the scaled activation is exactly the product of the half's value and x: the kernel
     * needs no multiply to restore the exponent.
     */
    private static boolean scaleActivations(float[] x, int xOffset, int whole, float[] scaled, int at) {
        for (int i = 0; i < whole; i += LANES) {
            FloatVector v = FloatVector.fromArray(F, x, xOffset + i);
            FloatVector magnitude = v.abs();
            if (magnitude.compare(VectorOperators.GE, 0x1p16f).and(magnitude.compare(VectorOperators.LT, Float.POSITIVE_INFINITY)).anyTrue()) {
                return false;
            }
            v.mul(TWO_POW_112).intoArray(scaled, at + i);
        }
        return true;
    }

    /**
     * Batches (8 or 16 lanes, not on Intel, as {@link #matvecRows}): each weight row against the activation rows
     * four at a time ({@link #rowTimesFour}), every chunk converted in registers once per four activation rows
     * and multiplied with their scaled values; the tiled path it replaces decoded each tile to floats first,
     * which alone took longer than the whole n = 1 matmul. Rows holding Inf or NaN take the tiled path, and
     * so does the whole call when an activation cannot be scaled; the same bits either way. JMH 5632x2048 on
     * the Zen 2 EPYC, calls/s tiled -> this, 1 thread: n = 2 289 -> 401, n = 4 217 -> 376, n = 8 156 -> 187,
     * n = 16 91 -> 104; 2 threads: n = 2 480 -> 763, n = 4 447 -> 733, n = 8 261 -> 370. (With the tiled path
     * at n = 8, decoding the tiles alone ran at 479 calls/s and the products alone at 247.)
     */
    @Override
    boolean matmulRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                       KernelScratch scratch) {
        if (RowStreams.fourRows() || (LANES != 16 && LANES != 8) || n < 2) return false;
        int k = w.cols, whole = k - k % LANES;
        float[] scaled = scratch.reorderedActivations(n * whole);
        for (int j = 0; j < n; j++) if (!scaleActivations(x, xOffset + j * k, whole, scaled, j * whole)) return false;
        for (int r = from; r < to; r++) {
            if (finiteRows(w, r)) rowInFours(w, scaled, 0, whole, x, xOffset, n, y, yOffset, r, scratch.lanes,
                    F16Format::rowTimesFour, F16Format::rowTimesTwo);
            else Matmul.tiled(w, x, xOffset, n, y, yOffset, r, r + 1, scratch);
        }
        return true;
    }

    /**
     * Row r over its whole chunks against four scaled activation rows (at x0 .. x3 in {@code scaled}), in
     * {@link Dot}'s order, each activation row's even + odd accumulator left at {@code lanes[i * LANES]}.
     */
    private static void rowTimesFour(WeightMatrix w, float[] scaled, int r, int x0, int x1, int x2, int x3, float[] lanes) {
        MemorySegment s = w.data;
        long o = w.rowOffset(r);
        int whole = w.cols - w.cols % LANES;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, v;
        int pairs = whole / (2 * LANES);
        for (int p = 0; p < pairs; p++) {
            int i = p * 2 * LANES;
            long at = o + 4L * LANES * p;
            v = ((IntVector) ShortVector.fromMemorySegment(S, s, at, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13)
                    .and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats();
            a0 = v.fma(FloatVector.fromArray(F, scaled, x0 + i), a0);
            a1 = v.fma(FloatVector.fromArray(F, scaled, x1 + i), a1);
            a2 = v.fma(FloatVector.fromArray(F, scaled, x2 + i), a2);
            a3 = v.fma(FloatVector.fromArray(F, scaled, x3 + i), a3);
            v = ((IntVector) ShortVector.fromMemorySegment(S, s, at + 2 * LANES, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13)
                    .and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats();
            b0 = v.fma(FloatVector.fromArray(F, scaled, x0 + i + LANES), b0);
            b1 = v.fma(FloatVector.fromArray(F, scaled, x1 + i + LANES), b1);
            b2 = v.fma(FloatVector.fromArray(F, scaled, x2 + i + LANES), b2);
            b3 = v.fma(FloatVector.fromArray(F, scaled, x3 + i + LANES), b3);
        }
        int i = pairs * 2 * LANES;
        if (i < whole) { // an odd chunk count: the last one is even
            v = ((IntVector) ShortVector.fromMemorySegment(S, s, o + 2L * i, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13)
                    .and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats();
            a0 = v.fma(FloatVector.fromArray(F, scaled, x0 + i), a0);
            a1 = v.fma(FloatVector.fromArray(F, scaled, x1 + i), a1);
            a2 = v.fma(FloatVector.fromArray(F, scaled, x2 + i), a2);
            a3 = v.fma(FloatVector.fromArray(F, scaled, x3 + i), a3);
        }
        a0.add(b0).intoArray(lanes, 0);
        a1.add(b1).intoArray(lanes, LANES);
        a2.add(b2).intoArray(lanes, 2 * LANES);
        a3.add(b3).intoArray(lanes, 3 * LANES);
    }

    /** {@link #rowTimesFour} against two activation rows (x1 may equal x0), for a remainder of one or two. */
    private static void rowTimesTwo(WeightMatrix w, float[] scaled, int r, int x0, int x1, float[] lanes) {
        MemorySegment s = w.data;
        long o = w.rowOffset(r);
        int whole = w.cols - w.cols % LANES;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, v;
        int pairs = whole / (2 * LANES);
        for (int p = 0; p < pairs; p++) {
            int i = p * 2 * LANES;
            long at = o + 4L * LANES * p;
            v = ((IntVector) ShortVector.fromMemorySegment(S, s, at, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13)
                    .and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats();
            a0 = v.fma(FloatVector.fromArray(F, scaled, x0 + i), a0);
            a1 = v.fma(FloatVector.fromArray(F, scaled, x1 + i), a1);
            v = ((IntVector) ShortVector.fromMemorySegment(S, s, at + 2 * LANES, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13)
                    .and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats();
            b0 = v.fma(FloatVector.fromArray(F, scaled, x0 + i + LANES), b0);
            b1 = v.fma(FloatVector.fromArray(F, scaled, x1 + i + LANES), b1);
        }
        int i = pairs * 2 * LANES;
        if (i < whole) { // an odd chunk count: the last one is even
            v = ((IntVector) ShortVector.fromMemorySegment(S, s, o + 2L * i, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13)
                    .and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats();
            a0 = v.fma(FloatVector.fromArray(F, scaled, x0 + i), a0);
            a1 = v.fma(FloatVector.fromArray(F, scaled, x1 + i), a1);
        }
        a0.add(b0).intoArray(lanes, 0);
        a1.add(b1).intoArray(lanes, LANES);
    }

    /** A half shifted left by 13 as a sign-extended int, masked with this: the bits of its value / 2^112. */
    private static final int SIGN_EXPONENT_MANTISSA = 0x8FFFE000;
    /** From the half's exponent bias (15) to the float's (127); exact for every finite half, subnormals too. */
    private static final float TWO_POW_112 = 0x1p112f;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /**
     * Whether row r holds no Inf or NaN, which the in-register conversion cannot take. Each row is
     * scanned once, the first time a matmul reaches it, and remembered ({@link WeightMatrix#rowsChecked}): the
     * kernel checked every chunk before, 15 % of its time on the Zen 2 EPYC (5632x2048, 1 thread, 378 against 445
     * calls/s without the check).
     */
    private static boolean finiteRows(WeightMatrix w, int r) {
        byte[] checked = w.rowsChecked;
        if (checked[r] == 0) {
            if (!finiteHalves(w.data, w.rowOffset(r), w.cols)) return false;
            checked[r] = 1;
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
     * Rows r0 and r1 (the same row when the slice has an odd last one) over their whole chunks in {@link Dot}'s
     * order, even + odd accumulator left at {@code lanes[0]} and {@code lanes[LANES]}. A chunk of halves becomes
     * floats / 2^112 in three operations: sign-extend, shift into float position, mask. That is exact for every
     * finite half, subnormals too, but a finite number for Inf and NaN, so only rows {@link #finiteRows} clears
     * come here. (The loads are written out: a helper returning vectors is boxed where C2 stops inlining, see
     * {@link LaneSums#sumFourRows}.)
     */
    private static void twoRowsConverted(WeightMatrix w, float[] scaled, int r0, int r1, float[] lanes) {
        MemorySegment s = w.data;
        long o = w.rowOffset(r0), apart = w.rowOffset(r1) - o;
        int whole = w.cols - w.cols % LANES;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
        int pairs = whole / (2 * LANES);
        for (int p = 0; p < pairs; p++) { // a plain counted loop: C2 then hoists the bounds checks
            int i = p * 2 * LANES;
            long at = o + 4L * LANES * p;
            FloatVector xv = FloatVector.fromArray(F, scaled, i);
            IntVector h0 = ((IntVector) ShortVector.fromMemorySegment(S, s, at, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            IntVector h1 = ((IntVector) ShortVector.fromMemorySegment(S, s, at + apart, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            a0 = h0.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().fma(xv, a0);
            a1 = h1.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().fma(xv, a1);
            xv = FloatVector.fromArray(F, scaled, i + LANES);
            h0 = ((IntVector) ShortVector.fromMemorySegment(S, s, at + 2 * LANES, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            h1 = ((IntVector) ShortVector.fromMemorySegment(S, s, at + apart + 2 * LANES, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            b0 = h0.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().fma(xv, b0);
            b1 = h1.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().fma(xv, b1);
        }
        int i = pairs * 2 * LANES;
        o += 2L * i;
        if (i < whole) { // an odd chunk count: the last one is even
            FloatVector xv = FloatVector.fromArray(F, scaled, i);
            IntVector h0 = ((IntVector) ShortVector.fromMemorySegment(S, s, o, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            IntVector h1 = ((IntVector) ShortVector.fromMemorySegment(S, s, o + apart, LE).convertShape(S2I, I, 0)).lanewise(LSHL, 13);
            a0 = h0.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().fma(xv, a0);
            a1 = h1.and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().fma(xv, a1);
        }
        a0.add(b0).intoArray(lanes, 0);
        a1.add(b1).intoArray(lanes, LANES);
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
