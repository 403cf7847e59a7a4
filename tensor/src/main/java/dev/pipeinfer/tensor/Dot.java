package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.LANES;

/**
 * The register-blocked inner kernels of {@link Matmul}: four decoded weight rows against one, two or four
 * activation rows, over one tile of chunks.
 *
 * <p><b>The summation order every kernel follows</b> (and with it every fused kernel of a format), which
 * is what makes the matmul batch-invariant: an output {@code y[j][r]} has exactly one vector accumulator;
 * chunk c (LANES consecutive weights) is added as {@code acc = w_c.fma(x_c, acc)} in increasing c, from
 * zero; the accumulator's lanes are then summed in the fixed tree of {@link LaneSums} (never with
 * reduceLanes, whose order may differ between the interpreter and C2); the {@code k mod LANES} tail is
 * added last, one product at a time. Which kernel, which group of rows, which tile or which thread
 * computes an output never changes this sequence, and a vector stored to memory between tiles and loaded
 * back keeps its bits.
 *
 * <p>Four weight rows share every activation load and four activation rows share every weight load, so
 * the four-by-four kernel does 16 FMAs per 8 loads; with one accumulator per output the four (or 16)
 * independent chains hide the FMA latency.
 *
 * <p>Weight tiles are four rows at a stride of {@code stride} floats in {@code w}; accumulators for
 * output (row i, activation j) live at {@code acc[(j * 4 + i) * LANES ..]}.
 */
final class Dot {
    static final int ROWS = 4;

    private Dot() {}

    /** Four weight rows against four activation rows (at x0, x0 + k, x0 + 2k, x0 + 3k). */
    static void rows4x4(float[] w, int stride, int chunks, float[] x, int x0, int k, float[] acc, int a, boolean first) {
        FloatVector a00, a10, a20, a30, a01, a11, a21, a31, a02, a12, a22, a32, a03, a13, a23, a33;
        if (first) {
            a00 = a10 = a20 = a30 = a01 = a11 = a21 = a31 = a02 = a12 = a22 = a32 = a03 = a13 = a23 = a33 = FloatVector.zero(F);
        } else {
            a00 = acc(acc, a, 0); a10 = acc(acc, a, 1); a20 = acc(acc, a, 2); a30 = acc(acc, a, 3);
            a01 = acc(acc, a, 4); a11 = acc(acc, a, 5); a21 = acc(acc, a, 6); a31 = acc(acc, a, 7);
            a02 = acc(acc, a, 8); a12 = acc(acc, a, 9); a22 = acc(acc, a, 10); a32 = acc(acc, a, 11);
            a03 = acc(acc, a, 12); a13 = acc(acc, a, 13); a23 = acc(acc, a, 14); a33 = acc(acc, a, 15);
        }
        int x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        for (int c = 0; c < chunks; c++) {
            int i = c * LANES;
            FloatVector w0 = FloatVector.fromArray(F, w, i), w1 = FloatVector.fromArray(F, w, stride + i);
            FloatVector w2 = FloatVector.fromArray(F, w, 2 * stride + i), w3 = FloatVector.fromArray(F, w, 3 * stride + i);
            FloatVector xv = FloatVector.fromArray(F, x, x0 + i);
            a00 = w0.fma(xv, a00); a10 = w1.fma(xv, a10); a20 = w2.fma(xv, a20); a30 = w3.fma(xv, a30);
            xv = FloatVector.fromArray(F, x, x1 + i);
            a01 = w0.fma(xv, a01); a11 = w1.fma(xv, a11); a21 = w2.fma(xv, a21); a31 = w3.fma(xv, a31);
            xv = FloatVector.fromArray(F, x, x2 + i);
            a02 = w0.fma(xv, a02); a12 = w1.fma(xv, a12); a22 = w2.fma(xv, a22); a32 = w3.fma(xv, a32);
            xv = FloatVector.fromArray(F, x, x3 + i);
            a03 = w0.fma(xv, a03); a13 = w1.fma(xv, a13); a23 = w2.fma(xv, a23); a33 = w3.fma(xv, a33);
        }
        a00.intoArray(acc, a); a10.intoArray(acc, a + LANES); a20.intoArray(acc, a + 2 * LANES); a30.intoArray(acc, a + 3 * LANES);
        a01.intoArray(acc, a + 4 * LANES); a11.intoArray(acc, a + 5 * LANES); a21.intoArray(acc, a + 6 * LANES); a31.intoArray(acc, a + 7 * LANES);
        a02.intoArray(acc, a + 8 * LANES); a12.intoArray(acc, a + 9 * LANES); a22.intoArray(acc, a + 10 * LANES); a32.intoArray(acc, a + 11 * LANES);
        a03.intoArray(acc, a + 12 * LANES); a13.intoArray(acc, a + 13 * LANES); a23.intoArray(acc, a + 14 * LANES); a33.intoArray(acc, a + 15 * LANES);
    }

    /** Four weight rows against two activation rows (at x0 and x0 + k). */
    static void rows4x2(float[] w, int stride, int chunks, float[] x, int x0, int k, float[] acc, int a, boolean first) {
        FloatVector a00, a10, a20, a30, a01, a11, a21, a31;
        if (first) {
            a00 = a10 = a20 = a30 = a01 = a11 = a21 = a31 = FloatVector.zero(F);
        } else {
            a00 = acc(acc, a, 0); a10 = acc(acc, a, 1); a20 = acc(acc, a, 2); a30 = acc(acc, a, 3);
            a01 = acc(acc, a, 4); a11 = acc(acc, a, 5); a21 = acc(acc, a, 6); a31 = acc(acc, a, 7);
        }
        int x1 = x0 + k;
        for (int c = 0; c < chunks; c++) {
            int i = c * LANES;
            FloatVector w0 = FloatVector.fromArray(F, w, i), w1 = FloatVector.fromArray(F, w, stride + i);
            FloatVector w2 = FloatVector.fromArray(F, w, 2 * stride + i), w3 = FloatVector.fromArray(F, w, 3 * stride + i);
            FloatVector xv = FloatVector.fromArray(F, x, x0 + i);
            a00 = w0.fma(xv, a00); a10 = w1.fma(xv, a10); a20 = w2.fma(xv, a20); a30 = w3.fma(xv, a30);
            xv = FloatVector.fromArray(F, x, x1 + i);
            a01 = w0.fma(xv, a01); a11 = w1.fma(xv, a11); a21 = w2.fma(xv, a21); a31 = w3.fma(xv, a31);
        }
        a00.intoArray(acc, a); a10.intoArray(acc, a + LANES); a20.intoArray(acc, a + 2 * LANES); a30.intoArray(acc, a + 3 * LANES);
        a01.intoArray(acc, a + 4 * LANES); a11.intoArray(acc, a + 5 * LANES); a21.intoArray(acc, a + 6 * LANES); a31.intoArray(acc, a + 7 * LANES);
    }

    /** Four weight rows against one activation row. */
    static void rows4x1(float[] w, int stride, int chunks, float[] x, int x0, float[] acc, int a, boolean first) {
        FloatVector a0, a1, a2, a3;
        if (first) {
            a0 = a1 = a2 = a3 = FloatVector.zero(F);
        } else {
            a0 = acc(acc, a, 0); a1 = acc(acc, a, 1); a2 = acc(acc, a, 2); a3 = acc(acc, a, 3);
        }
        for (int c = 0; c < chunks; c++) {
            int i = c * LANES;
            FloatVector xv = FloatVector.fromArray(F, x, x0 + i);
            a0 = FloatVector.fromArray(F, w, i).fma(xv, a0);
            a1 = FloatVector.fromArray(F, w, stride + i).fma(xv, a1);
            a2 = FloatVector.fromArray(F, w, 2 * stride + i).fma(xv, a2);
            a3 = FloatVector.fromArray(F, w, 3 * stride + i).fma(xv, a3);
        }
        a0.intoArray(acc, a); a1.intoArray(acc, a + LANES); a2.intoArray(acc, a + 2 * LANES); a3.intoArray(acc, a + 3 * LANES);
    }

    private static FloatVector acc(float[] acc, int a, int slot) {
        return FloatVector.fromArray(F, acc, a + slot * LANES);
    }

    /**
     * The fixed-order end of one output: the lanes of its accumulator (at {@code acc[a..a+LANES)}) summed
     * ({@link LaneSums}), then the tail products {@code w[wi + t] * x[xi + t]} for t in [0, tail), one at a
     * time.
     */
    static float finish(float[] acc, int a, float[] w, int wi, float[] x, int xi, int tail) {
        return addTail(LaneSums.of(acc, a), w, wi, x, xi, tail);
    }

    /** {@code s} plus the tail products, one at a time in order. */
    static float addTail(float s, float[] w, int wi, float[] x, int xi, int tail) {
        for (int t = 0; t < tail; t++) s += w[wi + t] * x[xi + t];
        return s;
    }
}
