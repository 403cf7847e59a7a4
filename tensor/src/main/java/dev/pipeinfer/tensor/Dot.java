package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.LANES;

/**
 * Dot products of one decoded weight row with up to four activation rows at a time, vectorized.
 *
 * <p>Batch invariance lives here: every output element is computed by the same sequence of operations,
 * whichever kernel (1, 2 or 4 rows) handles it. Chunk c of LANES floats goes to accumulator c mod 4; the
 * four accumulators are combined as (a0+a1)+(a2+a3); the lanes are then summed in index order (never with
 * reduceLanes, whose order may differ between the interpreter and C2); the k mod LANES tail is added last,
 * one product at a time.
 */
final class Dot {
    private Dot() {}

    /** y[yOff + j*yStride] = w[0..k) . x[xOff + j*k ..] for j in 0..n. */
    static void rows(float[] w, int k, float[] x, int xOff, int n, float[] y, int yOff, int yStride, float[] lanes) {
        int j = 0;
        for (; j + 4 <= n; j += 4) dot4(w, k, x, xOff + j * k, y, yOff + j * yStride, yStride, lanes);
        for (; j + 2 <= n; j += 2) dot2(w, k, x, xOff + j * k, y, yOff + j * yStride, yStride, lanes);
        if (j < n) y[yOff + j * yStride] = dot1(w, k, x, xOff + j * k, lanes);
    }

    static float dot1(float[] w, int k, float[] x, int x0, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (; i + 4 * LANES <= k; i += 4 * LANES) {
            a0 = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = FloatVector.fromArray(F, w, i + LANES).fma(FloatVector.fromArray(F, x, x0 + i + LANES), a1);
            a2 = FloatVector.fromArray(F, w, i + 2 * LANES).fma(FloatVector.fromArray(F, x, x0 + i + 2 * LANES), a2);
            a3 = FloatVector.fromArray(F, w, i + 3 * LANES).fma(FloatVector.fromArray(F, x, x0 + i + 3 * LANES), a3);
        }
        if (i + LANES <= k) {
            a0 = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, x0 + i), a0);
            i += LANES;
            if (i + LANES <= k) {
                a1 = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, x0 + i), a1);
                i += LANES;
                if (i + LANES <= k) {
                    a2 = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, x0 + i), a2);
                    i += LANES;
                }
            }
        }
        a0.add(a1).add(a2.add(a3)).intoArray(lanes, 0);
        return tail(w, x, x0, i, k, lanes);
    }

    private static void dot2(float[] w, int k, float[] x, int x0, float[] y, int y0, int yStride, float[] lanes) {
        int x1 = x0 + k;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int i = 0;
        for (; i + 4 * LANES <= k; i += 4 * LANES) {
            FloatVector w0 = FloatVector.fromArray(F, w, i);
            FloatVector w1 = FloatVector.fromArray(F, w, i + LANES);
            FloatVector w2 = FloatVector.fromArray(F, w, i + 2 * LANES);
            FloatVector w3 = FloatVector.fromArray(F, w, i + 3 * LANES);
            a0 = w0.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            a1 = w1.fma(FloatVector.fromArray(F, x, x0 + i + LANES), a1);
            a2 = w2.fma(FloatVector.fromArray(F, x, x0 + i + 2 * LANES), a2);
            a3 = w3.fma(FloatVector.fromArray(F, x, x0 + i + 3 * LANES), a3);
            b0 = w0.fma(FloatVector.fromArray(F, x, x1 + i), b0);
            b1 = w1.fma(FloatVector.fromArray(F, x, x1 + i + LANES), b1);
            b2 = w2.fma(FloatVector.fromArray(F, x, x1 + i + 2 * LANES), b2);
            b3 = w3.fma(FloatVector.fromArray(F, x, x1 + i + 3 * LANES), b3);
        }
        int c = 0;
        for (; i + LANES <= k; i += LANES, c++) {
            FloatVector wv = FloatVector.fromArray(F, w, i);
            if (c == 0) {
                a0 = wv.fma(FloatVector.fromArray(F, x, x0 + i), a0);
                b0 = wv.fma(FloatVector.fromArray(F, x, x1 + i), b0);
            } else if (c == 1) {
                a1 = wv.fma(FloatVector.fromArray(F, x, x0 + i), a1);
                b1 = wv.fma(FloatVector.fromArray(F, x, x1 + i), b1);
            } else {
                a2 = wv.fma(FloatVector.fromArray(F, x, x0 + i), a2);
                b2 = wv.fma(FloatVector.fromArray(F, x, x1 + i), b2);
            }
        }
        a0.add(a1).add(a2.add(a3)).intoArray(lanes, 0);
        y[y0] = tail(w, x, x0, i, k, lanes);
        b0.add(b1).add(b2.add(b3)).intoArray(lanes, 0);
        y[y0 + yStride] = tail(w, x, x1, i, k, lanes);
    }

    private static void dot4(float[] w, int k, float[] x, int x0, float[] y, int y0, int yStride, float[] lanes) {
        int x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        FloatVector c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        FloatVector d0 = a0, d1 = a0, d2 = a0, d3 = a0;
        int i = 0;
        for (; i + 4 * LANES <= k; i += 4 * LANES) {
            FloatVector w0 = FloatVector.fromArray(F, w, i);
            FloatVector w1 = FloatVector.fromArray(F, w, i + LANES);
            FloatVector w2 = FloatVector.fromArray(F, w, i + 2 * LANES);
            FloatVector w3 = FloatVector.fromArray(F, w, i + 3 * LANES);
            a0 = w0.fma(FloatVector.fromArray(F, x, x0 + i), a0);
            b0 = w0.fma(FloatVector.fromArray(F, x, x1 + i), b0);
            c0 = w0.fma(FloatVector.fromArray(F, x, x2 + i), c0);
            d0 = w0.fma(FloatVector.fromArray(F, x, x3 + i), d0);
            a1 = w1.fma(FloatVector.fromArray(F, x, x0 + i + LANES), a1);
            b1 = w1.fma(FloatVector.fromArray(F, x, x1 + i + LANES), b1);
            c1 = w1.fma(FloatVector.fromArray(F, x, x2 + i + LANES), c1);
            d1 = w1.fma(FloatVector.fromArray(F, x, x3 + i + LANES), d1);
            a2 = w2.fma(FloatVector.fromArray(F, x, x0 + i + 2 * LANES), a2);
            b2 = w2.fma(FloatVector.fromArray(F, x, x1 + i + 2 * LANES), b2);
            c2 = w2.fma(FloatVector.fromArray(F, x, x2 + i + 2 * LANES), c2);
            d2 = w2.fma(FloatVector.fromArray(F, x, x3 + i + 2 * LANES), d2);
            a3 = w3.fma(FloatVector.fromArray(F, x, x0 + i + 3 * LANES), a3);
            b3 = w3.fma(FloatVector.fromArray(F, x, x1 + i + 3 * LANES), b3);
            c3 = w3.fma(FloatVector.fromArray(F, x, x2 + i + 3 * LANES), c3);
            d3 = w3.fma(FloatVector.fromArray(F, x, x3 + i + 3 * LANES), d3);
        }
        int c = 0;
        for (; i + LANES <= k; i += LANES, c++) {
            FloatVector wv = FloatVector.fromArray(F, w, i);
            FloatVector xa = FloatVector.fromArray(F, x, x0 + i), xb = FloatVector.fromArray(F, x, x1 + i);
            FloatVector xc = FloatVector.fromArray(F, x, x2 + i), xd = FloatVector.fromArray(F, x, x3 + i);
            if (c == 0) {
                a0 = wv.fma(xa, a0); b0 = wv.fma(xb, b0); c0 = wv.fma(xc, c0); d0 = wv.fma(xd, d0);
            } else if (c == 1) {
                a1 = wv.fma(xa, a1); b1 = wv.fma(xb, b1); c1 = wv.fma(xc, c1); d1 = wv.fma(xd, d1);
            } else {
                a2 = wv.fma(xa, a2); b2 = wv.fma(xb, b2); c2 = wv.fma(xc, c2); d2 = wv.fma(xd, d2);
            }
        }
        a0.add(a1).add(a2.add(a3)).intoArray(lanes, 0);
        y[y0] = tail(w, x, x0, i, k, lanes);
        b0.add(b1).add(b2.add(b3)).intoArray(lanes, 0);
        y[y0 + yStride] = tail(w, x, x1, i, k, lanes);
        c0.add(c1).add(c2.add(c3)).intoArray(lanes, 0);
        y[y0 + 2 * yStride] = tail(w, x, x2, i, k, lanes);
        d0.add(d1).add(d2.add(d3)).intoArray(lanes, 0);
        y[y0 + 3 * yStride] = tail(w, x, x3, i, k, lanes);
    }

    /**
     * The fixed-order end of every dot product: the caller combines its accumulators as (a0+a1)+(a2+a3)
     * and stores them in {@code lanes} (no vector crosses a call: that would box it); here the lanes are summed in index order and the tail added one product at a time.
     */
    static float tail(float[] w, float[] x, int xo, int i, int k, float[] lanes) {
        float s = sumLanes(lanes);
        for (; i < k; i++) s += w[i] * x[xo + i];
        return s;
    }

    static float sumLanes(float[] lanes) {
        float s = 0;
        for (int l = 0; l < LANES; l++) s += lanes[l];
        return s;
    }
}
