package dev.pipeinfer.transformer;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention's arithmetic on K and V rows staged as floats ({@link dev.pipeinfer.transformer.kv.KvCache#stageKeys}):
 * the score dots of query heads against a K row, and the weighted sums of V rows. The blocked kernels (four or
 * eight heads per K row, eight vectors of output across many V rows) do each element's operations of the
 * one-row kernels ({@link #dot}, {@link #addWeightedRow}) in the same order, so the blocking, which is chosen
 * by the group's size, never changes a bit ({@code AttentionKernelsTest}).
 *
 * <p>A dot sums its vector lanes through {@code scratch[0 .. LANES)}: a scratch array holds {@link #SPILL}
 * floats in front of the rows staged in it.
 */
final class AttentionKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();

    /** Floats in front of the staged rows of a scratch array, where a dot sums its lanes. */
    static final int SPILL = LANES;

    private AttentionKernels() {}

    /**
     * {@code out[outOffset + i] += weights[wAt + c] * rows[rowsAt + c len + i]} for the rows c = 0 .. cells - 1 in
     * turn, i in [0, len): for each element the multiplies and adds of {@link #addWeightedRow} called row
     * after row, so the same bits, with the output held in registers across the rows instead of loaded and
     * stored for each (eight vectors at a time, then four, then one).
     */
    static void addWeightedRows(float[] weights, int wAt, int cells, float[] rows, int rowsAt, int len,
                                float[] out, int outOffset) {
        int i = 0;
        for (int bound = len - len % (8 * LANES); i < bound; i += 8 * LANES) { // eight chains of adds: latency, not throughput, bounds four
            int o = outOffset + i;
            FloatVector a0 = FloatVector.fromArray(F, out, o), a1 = FloatVector.fromArray(F, out, o + LANES);
            FloatVector a2 = FloatVector.fromArray(F, out, o + 2 * LANES), a3 = FloatVector.fromArray(F, out, o + 3 * LANES);
            FloatVector a4 = FloatVector.fromArray(F, out, o + 4 * LANES), a5 = FloatVector.fromArray(F, out, o + 5 * LANES);
            FloatVector a6 = FloatVector.fromArray(F, out, o + 6 * LANES), a7 = FloatVector.fromArray(F, out, o + 7 * LANES);
            for (int c = 0, r = rowsAt + i; c < cells; c++, r += len) {
                float weight = weights[wAt + c];
                a0 = FloatVector.fromArray(F, rows, r).mul(weight).add(a0);
                a1 = FloatVector.fromArray(F, rows, r + LANES).mul(weight).add(a1);
                a2 = FloatVector.fromArray(F, rows, r + 2 * LANES).mul(weight).add(a2);
                a3 = FloatVector.fromArray(F, rows, r + 3 * LANES).mul(weight).add(a3);
                a4 = FloatVector.fromArray(F, rows, r + 4 * LANES).mul(weight).add(a4);
                a5 = FloatVector.fromArray(F, rows, r + 5 * LANES).mul(weight).add(a5);
                a6 = FloatVector.fromArray(F, rows, r + 6 * LANES).mul(weight).add(a6);
                a7 = FloatVector.fromArray(F, rows, r + 7 * LANES).mul(weight).add(a7);
            }
            a0.intoArray(out, o);
            a1.intoArray(out, o + LANES);
            a2.intoArray(out, o + 2 * LANES);
            a3.intoArray(out, o + 3 * LANES);
            a4.intoArray(out, o + 4 * LANES);
            a5.intoArray(out, o + 5 * LANES);
            a6.intoArray(out, o + 6 * LANES);
            a7.intoArray(out, o + 7 * LANES);
        }
        // four vectors: what a head of 64 takes on 512-bit vectors (the blocks are written out: a helper per
        // vector, or an array of them, makes C2 box the vectors)
        for (int bound = len - len % (4 * LANES); i < bound; i += 4 * LANES) {
            int o = outOffset + i;
            FloatVector a0 = FloatVector.fromArray(F, out, o), a1 = FloatVector.fromArray(F, out, o + LANES);
            FloatVector a2 = FloatVector.fromArray(F, out, o + 2 * LANES), a3 = FloatVector.fromArray(F, out, o + 3 * LANES);
            for (int c = 0, r = rowsAt + i; c < cells; c++, r += len) {
                float weight = weights[wAt + c];
                a0 = FloatVector.fromArray(F, rows, r).mul(weight).add(a0);
                a1 = FloatVector.fromArray(F, rows, r + LANES).mul(weight).add(a1);
                a2 = FloatVector.fromArray(F, rows, r + 2 * LANES).mul(weight).add(a2);
                a3 = FloatVector.fromArray(F, rows, r + 3 * LANES).mul(weight).add(a3);
            }
            a0.intoArray(out, o);
            a1.intoArray(out, o + LANES);
            a2.intoArray(out, o + 2 * LANES);
            a3.intoArray(out, o + 3 * LANES);
        }
        for (int bound = F.loopBound(len); i < bound; i += LANES) {
            FloatVector a = FloatVector.fromArray(F, out, outOffset + i);
            for (int c = 0, r = rowsAt + i; c < cells; c++, r += len) a = FloatVector.fromArray(F, rows, r).mul(weights[wAt + c]).add(a);
            a.intoArray(out, outOffset + i);
        }
        for (; i < len; i++) {
            float a = out[outOffset + i];
            for (int c = 0; c < cells; c++) a += weights[wAt + c] * rows[rowsAt + c * len + i];
            out[outOffset + i] = a;
        }
    }

    /**
     * Dot product of {@code q[qOffset .. qOffset+len)} with the row at {@code scratch[rowAt ..]}. Computed the same
     * way for every call with the same {@code len}: whole vectors of {@link #LANES} accumulated with FMA, the
     * lanes then summed in index order through {@code scratch[0 .. LANES)} (not {@code reduceLanes}, whose order
     * may differ between the interpreter and compiled code), then the remaining products one by one.
     */
    static float dot(float[] q, int qOffset, int len, float[] scratch, int rowAt) {
        int bound = F.loopBound(len);
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < bound; i += LANES) {
            acc = FloatVector.fromArray(F, q, qOffset + i).fma(FloatVector.fromArray(F, scratch, rowAt + i), acc);
        }
        return finishDot(acc, q, qOffset, bound, len, scratch, rowAt);
    }

    /**
     * {@link #dot} of four query rows (at q0 .. q3) with the same row, each times {@code scale} into {@code out[o0]}
     * .. {@code out[o3]}: the row's vectors are loaded once for the four, and each dot's operations are
     * {@link #dot}'s, so the same bits.
     */
    static void fourDots(float[] q, int q0, int q1, int q2, int q3, int len, float[] scratch, int rowAt,
                         float scale, float[] out, int o0, int o1, int o2, int o3) {
        int bound = F.loopBound(len);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < bound; i += LANES) {
            FloatVector k = FloatVector.fromArray(F, scratch, rowAt + i);
            a0 = FloatVector.fromArray(F, q, q0 + i).fma(k, a0);
            a1 = FloatVector.fromArray(F, q, q1 + i).fma(k, a1);
            a2 = FloatVector.fromArray(F, q, q2 + i).fma(k, a2);
            a3 = FloatVector.fromArray(F, q, q3 + i).fma(k, a3);
        }
        out[o0] = finishDot(a0, q, q0, bound, len, scratch, rowAt) * scale;
        out[o1] = finishDot(a1, q, q1, bound, len, scratch, rowAt) * scale;
        out[o2] = finishDot(a2, q, q2, bound, len, scratch, rowAt) * scale;
        out[o3] = finishDot(a3, q, q3, bound, len, scratch, rowAt) * scale;
    }

    /**
     * {@link #dot} of eight query rows, {@code len} apart from {@code q0}, with the row at {@code scratch[rowAt
     * ..]}, each times {@code scale} into {@code out[o0 + h stride]}: eight chains of FMAs in flight where
     * {@link #fourDots} has four (the chains' latency, not the FMAs, bounded it: 187 against 149 cycles a
     * cell for eight heads of 64 in a loop on the Zen 2 EPYC). Each dot's operations are {@link #dot}'s.
     */
    static void eightDots(float[] q, int q0, int len, float[] scratch, int rowAt, float scale, float[] out,
                          int o0, int stride) {
        int bound = F.loopBound(len);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int i = 0; i < bound; i += LANES) {
            FloatVector k = FloatVector.fromArray(F, scratch, rowAt + i);
            int qi = q0 + i;
            a0 = FloatVector.fromArray(F, q, qi).fma(k, a0);
            a1 = FloatVector.fromArray(F, q, qi + len).fma(k, a1);
            a2 = FloatVector.fromArray(F, q, qi + 2 * len).fma(k, a2);
            a3 = FloatVector.fromArray(F, q, qi + 3 * len).fma(k, a3);
            a4 = FloatVector.fromArray(F, q, qi + 4 * len).fma(k, a4);
            a5 = FloatVector.fromArray(F, q, qi + 5 * len).fma(k, a5);
            a6 = FloatVector.fromArray(F, q, qi + 6 * len).fma(k, a6);
            a7 = FloatVector.fromArray(F, q, qi + 7 * len).fma(k, a7);
        }
        out[o0] = finishDot(a0, q, q0, bound, len, scratch, rowAt) * scale;
        out[o0 + stride] = finishDot(a1, q, q0 + len, bound, len, scratch, rowAt) * scale;
        out[o0 + 2 * stride] = finishDot(a2, q, q0 + 2 * len, bound, len, scratch, rowAt) * scale;
        out[o0 + 3 * stride] = finishDot(a3, q, q0 + 3 * len, bound, len, scratch, rowAt) * scale;
        out[o0 + 4 * stride] = finishDot(a4, q, q0 + 4 * len, bound, len, scratch, rowAt) * scale;
        out[o0 + 5 * stride] = finishDot(a5, q, q0 + 5 * len, bound, len, scratch, rowAt) * scale;
        out[o0 + 6 * stride] = finishDot(a6, q, q0 + 6 * len, bound, len, scratch, rowAt) * scale;
        out[o0 + 7 * stride] = finishDot(a7, q, q0 + 7 * len, bound, len, scratch, rowAt) * scale;
    }

    /** The end of a dot with a staged row: the accumulator's lanes summed in index order, then the remaining products. */
    private static float finishDot(FloatVector acc, float[] q, int qOffset, int bound, int len, float[] scratch, int rowAt) {
        float sum = 0f;
        if (bound > 0) {
            acc.intoArray(scratch, 0);
            for (int l = 0; l < LANES; l++) sum += scratch[l];
        }
        for (int i = bound; i < len; i++) sum += q[qOffset + i] * scratch[rowAt + i];
        return sum;
    }

    /**
     * {@code out[outOffset + i] += weight * rows[rowAt + i]}, i in [0, len): a multiply, then an add, per element
     * (vectorized where whole vectors fit; the same two roundings either way). The one-row reference of
     * {@link #addWeightedRows}.
     */
    static void addWeightedRow(float weight, float[] out, int outOffset, int len, float[] rows, int rowAt) {
        int i = 0;
        for (int bound = F.loopBound(len); i < bound; i += LANES) {
            FloatVector.fromArray(F, rows, rowAt + i).mul(weight)
                    .add(FloatVector.fromArray(F, out, outOffset + i))
                    .intoArray(out, outOffset + i);
        }
        for (; i < len; i++) out[outOffset + i] += weight * rows[rowAt + i];
    }
}
