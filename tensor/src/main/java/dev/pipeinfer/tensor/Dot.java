package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.LANES;

/**
 * The register-blocked inner kernels of {@link Matmul}: four decoded weight rows against one, two or four
 * activation rows, over one tile of chunks.
 *
 * <p><b>The summation order every kernel follows</b> (and with it every fused kernel of a format), which
 * is what makes the matmul batch-invariant: an output {@code y[j][r]} has two vector accumulators, one for
 * the even chunks and one for the odd (chunk c = LANES consecutive weights, c counted from the row's
 * start); chunk c is added as {@code acc[c & 1] = w_c.fma(x_c, acc[c & 1])} in increasing c, from zero;
 * then {@code even + odd}; that vector's lanes are summed in the fixed tree of {@link LaneSums} (never with
 * reduceLanes, whose order may differ between the interpreter and C2); the {@code k mod LANES} tail is
 * added last, one product at a time. Which kernel, which group of rows, which tile or which thread
 * computes an output never changes this sequence, and a vector stored to memory between tiles and loaded
 * back keeps its bits.
 *
 * <p>Why two accumulators: with one, a single row is one chain of dependent FMAs (4 cycles each on the
 * machines measured), and a one-row kernel could not go faster than one chunk per 4 cycles whatever its
 * decoding cost (Q8_0 in cache, one row: 25 000 calls/s of 256x2048 with one accumulator, 35 000-42 000
 * with two). Two chains let a kernel read one row as one sequential stream and still overlap its FMAs;
 * four would need 16 registers for a four-row batch kernel's accumulators alone.
 *
 * <p>Four weight rows share every activation load and the activation rows of a call share every weight
 * load. The four-by-four kernel walks the even chunks and then the odd ones in two passes, so it holds 16
 * accumulators, not 32, and does 16 FMAs per 8 loads; the four-by-two kernel does 8 per 6 and the
 * four-by-one 4 per 5. Matmul takes groups of four activation rows first. JMH on this Zen 5 EPYC, four-by-four
 * against four-by-two alone at n = 8: cache-resident 256x2048 on 1 thread F16 7 500 -> 10 400 calls/s, Q8_0
 * 7 300 -> 9 100, Q4_K 6 900 -> 8 600; 5632x2048 over the large working set 20-30 % faster on 1 thread
 * (Q8_0 213 -> 270-300) and about 40 % at n = 16 on 2 threads.
 *
 * <p>Weight tiles are four rows at a stride of {@code stride} floats in {@code w}. The accumulators of
 * activation row j start at {@code a + j * 8 * LANES} (j = 0, 1 within the call): the even ones of weight
 * rows 0..3, then the odd ones.
 */
final class Dot {
    static final int ROWS = 4;

    /** Floats of accumulator storage per activation row of a four-row group: even and odd, four rows each. */
    static final int SLOTS = 2 * ROWS * LANES;

    private Dot() {}

    /** Four weight rows against four activation rows (at x0, x0 + k, ...): the even chunks, then the odd. */
    static void rows4x4(float[] w, int stride, int chunks, float[] x, int x0, int k, float[] acc, int a, boolean first) {
        evenOrOdd4x4(w, stride, chunks, x, x0, k, acc, a, first, 0);
        evenOrOdd4x4(w, stride, chunks, x, x0, k, acc, a + 4 * LANES, first, 1);
    }

    /**
     * Chunks parity, parity + 2, ... of four weight rows against four activation rows: 16 accumulators, and
     * each chunk 8 loads for 16 FMAs. Loads are what bounds these kernels (this Zen 5 EPYC issues one 64-byte
     * load per cycle and two FMAs), so this kernel runs at the FMA rate where the four-by-two one waits.
     */
    private static void evenOrOdd4x4(float[] w, int stride, int chunks, float[] x, int x0, int k, float[] acc, int a,
                                     boolean first, int parity) {
        FloatVector a00, a10, a20, a30, a01, a11, a21, a31, a02, a12, a22, a32, a03, a13, a23, a33;
        int b = a + SLOTS, c2 = a + 2 * SLOTS, d = a + 3 * SLOTS;
        if (first) {
            a00 = a10 = a20 = a30 = a01 = a11 = a21 = a31 = FloatVector.zero(F);
            a02 = a12 = a22 = a32 = a03 = a13 = a23 = a33 = a00;
        } else {
            a00 = acc(acc, a, 0); a10 = acc(acc, a, 1); a20 = acc(acc, a, 2); a30 = acc(acc, a, 3);
            a01 = acc(acc, b, 0); a11 = acc(acc, b, 1); a21 = acc(acc, b, 2); a31 = acc(acc, b, 3);
            a02 = acc(acc, c2, 0); a12 = acc(acc, c2, 1); a22 = acc(acc, c2, 2); a32 = acc(acc, c2, 3);
            a03 = acc(acc, d, 0); a13 = acc(acc, d, 1); a23 = acc(acc, d, 2); a33 = acc(acc, d, 3);
        }
        int x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        for (int c = parity; c < chunks; c += 2) {
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
        a01.intoArray(acc, b); a11.intoArray(acc, b + LANES); a21.intoArray(acc, b + 2 * LANES); a31.intoArray(acc, b + 3 * LANES);
        a02.intoArray(acc, c2); a12.intoArray(acc, c2 + LANES); a22.intoArray(acc, c2 + 2 * LANES); a32.intoArray(acc, c2 + 3 * LANES);
        a03.intoArray(acc, d); a13.intoArray(acc, d + LANES); a23.intoArray(acc, d + 2 * LANES); a33.intoArray(acc, d + 3 * LANES);
    }

    /** Four weight rows against two activation rows (at x0 and x0 + k): the even chunks, then the odd. */
    static void rows4x2(float[] w, int stride, int chunks, float[] x, int x0, int k, float[] acc, int a, boolean first) {
        evenOrOdd4x2(w, stride, chunks, x, x0, k, acc, a, first, 0);
        evenOrOdd4x2(w, stride, chunks, x, x0, k, acc, a + 4 * LANES, first, 1);
    }

    /**
     * Chunks parity, parity + 2, ... of four weight rows against two activation rows, into the accumulators
     * at acc[a..] (first activation row) and acc[a + SLOTS..] (second). Each parity in a loop of its own
     * rather than both in one unrolled loop: that form, with 16 accumulators live, ran at half the speed.
     */
    private static void evenOrOdd4x2(float[] w, int stride, int chunks, float[] x, int x0, int k, float[] acc, int a,
                                     boolean first, int parity) {
        FloatVector a00, a10, a20, a30, a01, a11, a21, a31;
        int b = a + SLOTS;
        if (first) {
            a00 = a10 = a20 = a30 = a01 = a11 = a21 = a31 = FloatVector.zero(F);
        } else {
            a00 = acc(acc, a, 0); a10 = acc(acc, a, 1); a20 = acc(acc, a, 2); a30 = acc(acc, a, 3);
            a01 = acc(acc, b, 0); a11 = acc(acc, b, 1); a21 = acc(acc, b, 2); a31 = acc(acc, b, 3);
        }
        int x1 = x0 + k;
        for (int c = parity; c < chunks; c += 2) {
            int i = c * LANES;
            FloatVector w0 = FloatVector.fromArray(F, w, i), w1 = FloatVector.fromArray(F, w, stride + i);
            FloatVector w2 = FloatVector.fromArray(F, w, 2 * stride + i), w3 = FloatVector.fromArray(F, w, 3 * stride + i);
            FloatVector xv = FloatVector.fromArray(F, x, x0 + i);
            a00 = w0.fma(xv, a00); a10 = w1.fma(xv, a10); a20 = w2.fma(xv, a20); a30 = w3.fma(xv, a30);
            xv = FloatVector.fromArray(F, x, x1 + i);
            a01 = w0.fma(xv, a01); a11 = w1.fma(xv, a11); a21 = w2.fma(xv, a21); a31 = w3.fma(xv, a31);
        }
        a00.intoArray(acc, a); a10.intoArray(acc, a + LANES); a20.intoArray(acc, a + 2 * LANES); a30.intoArray(acc, a + 3 * LANES);
        a01.intoArray(acc, b); a11.intoArray(acc, b + LANES); a21.intoArray(acc, b + 2 * LANES); a31.intoArray(acc, b + 3 * LANES);
    }

    /** Four weight rows against one activation row: the even chunks, then the odd (each accumulator in its own order). */
    static void rows4x1(float[] w, int stride, int chunks, float[] x, int x0, float[] acc, int a, boolean first) {
        evenOrOdd4x1(w, stride, chunks, x, x0, acc, a, first, 0);
        evenOrOdd4x1(w, stride, chunks, x, x0, acc, a + 4 * LANES, first, 1);
    }

    /** Chunks parity, parity + 2, ... of four weight rows into the four accumulators at acc[a..]. */
    private static void evenOrOdd4x1(float[] w, int stride, int chunks, float[] x, int x0, float[] acc, int a, boolean first,
                                     int parity) {
        FloatVector a0, a1, a2, a3;
        if (first) {
            a0 = a1 = a2 = a3 = FloatVector.zero(F);
        } else {
            a0 = acc(acc, a, 0); a1 = acc(acc, a, 1); a2 = acc(acc, a, 2); a3 = acc(acc, a, 3);
        }
        for (int c = parity; c < chunks; c += 2) {
            int i = c * LANES;
            FloatVector xv = FloatVector.fromArray(F, x, x0 + i);
            a0 = FloatVector.fromArray(F, w, i).fma(xv, a0);
            a1 = FloatVector.fromArray(F, w, stride + i).fma(xv, a1);
            a2 = FloatVector.fromArray(F, w, 2 * stride + i).fma(xv, a2);
            a3 = FloatVector.fromArray(F, w, 3 * stride + i).fma(xv, a3);
        }
        a0.intoArray(acc, a); a1.intoArray(acc, a + LANES); a2.intoArray(acc, a + 2 * LANES); a3.intoArray(acc, a + 3 * LANES);
    }

    /**
     * The four outputs' vectors {@code even + odd} from the accumulators at {@code acc[a..a+SLOTS)}, into
     * {@code out[o .. o + 4 * LANES)}: what {@link LaneSums} then sums.
     */
    static void combine(float[] acc, int a, float[] out, int o) {
        for (int i = 0; i < ROWS; i++) {
            acc(acc, a, i).add(acc(acc, a, ROWS + i)).intoArray(out, o + i * LANES);
        }
    }

    private static FloatVector acc(float[] acc, int a, int slot) {
        return FloatVector.fromArray(F, acc, a + slot * LANES);
    }

    /**
     * The fixed-order end of one output: the lanes of its combined accumulator (at {@code acc[a..a+LANES)},
     * see {@link #combine}) summed ({@link LaneSums}), then the tail products {@code w[wi + t] * x[xi + t]} for t in [0, tail), one at a
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
