package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;

import java.lang.foreign.MemorySegment;

import static dev.pipeinfer.tensor.Lanes.F;

/**
 * Matmuls on 256-bit vectors (AVX2), every n, of the k-quants whose 16-weight sub-blocks have one scale each
 * and no min (Q6_K, Q3_K). Their kernels read a half super-block's bytes as vectors of eight ints and assemble
 * each weight in its int lane: byte i of lane L is weight 4L + i of a quarter (32 weights), so the activations
 * are put in that order once per call ({@link #laneOrder}). A chunk's lanes 0-3 and 4-7 then belong to two
 * sub-blocks: the four chunks of a quarter are summed first and multiplied by a vector holding each lane's
 * scale ({@link RowKernels#scaleVectors}), one FMA per quarter instead of a multiply per chunk. This class
 * holds the drivers, the activations' side and the batch kernels; each type's {@link RowKernels} reads its
 * blocks.
 *
 * <p>Batches decode each weight row once to floats in the same order ({@link RowKernels#decode}) and multiply
 * the decoded row with four activation rows at a time ({@link #decodedTimesFour}): the same operations on the
 * same values as the fused n = 1 kernels, so the same bits.
 *
 * <p><b>Order of sums</b>, the same for every n: per output, each quarter's four chunks in one chain (the
 * first a multiply), added with an FMA by its scale vector to one of two accumulators, even quarters to the
 * first, odd ones to the second, quarters in order; the result {@code LaneSums.ofEight(first + second)}.
 */
final class QuarterScaledKernels {
    private QuarterScaledKernels() {}

    /** A type's block layout, read by kernels over one weight row; activation rows in {@link #laneOrder}. */
    interface RowKernels {
        /**
         * Each quarter's scale vector into {@code sv[64 b + 8 q ..]} (super-block b, quarter q of eight): lanes
         * 0-3 the scale of the quarter's first 16 weights, lanes 4-7 of the other 16, as the dequantizer
         * computes them.
         */
        void scaleVectors(MemorySegment s, long row, int blocks, float[] sv, KernelScratch scratch);

        /**
         * n = 1: the row's two accumulators' sum left at {@code lanes[0 .. 8)}, touching the weights
         * {@code aheadBytes} on ({@link RowPrefetch#aheadBytes}); returns the touched bytes' sum.
         */
        int row(MemorySegment s, long w0, int blocks, float[] sv, float[] xn, float[] lanes, long aheadBytes);

        /** The activation row (k values from xOffset) into {@code xn[0 .. k)} as {@link #row} reads it; batches read {@link #laneOrder}. */
        default void rowActivations(float[] x, int xOffset, int k, float[] xn) {
            laneOrder(x, xOffset, k, xn, 0);
        }

        /** The row's weights divided by their scales, as floats in lane order, into {@code decoded[0 .. 256 blocks)}. */
        void decode(MemorySegment s, long w0, int blocks, float[] decoded);
    }

    /** Whether these kernels run: 256-bit vectors (on 512-bit ones Q6_K and Q3_K have kernels of their own). */
    static boolean applies() {
        return Lanes.LANES == 8;
    }

    /** n = 1: the activations in lane order, each row's scale vectors, then the type's {@link RowKernels#row}. */
    static void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to,
                           KernelScratch scratch, RowKernels kernels) {
        int k = w.cols, blocks = k / 256;
        float[] xn = scratch.reorderedActivations(k), sv = scratch.scales(64 * blocks), lanes = scratch.lanes;
        kernels.rowActivations(x, xOffset, k, xn);
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            kernels.scaleVectors(w.data, row, blocks, sv, scratch);
            scratch.prefetched += kernels.row(w.data, row, blocks, sv, xn, lanes, RowPrefetch.aheadBytes(w, r));
            y[yOffset + r] = LaneSums.ofEight(lanes, 0);
        }
    }

    /**
     * n >= 2: each row decoded once ({@link RowKernels#decode}), then {@link #decodedRowTimesAll}.
     */
    static void matmulRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                           KernelScratch scratch, RowKernels kernels) {
        int k = w.cols, m = w.rows, blocks = k / 256;
        float[] xn = scratch.reorderedActivations(n * k), sv = scratch.scales(64 * blocks), lanes = scratch.lanes;
        float[] decoded = scratch.decodedRow(k);
        for (int j = 0; j < n; j++) laneOrder(x, xOffset + j * k, k, xn, j * k);
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            kernels.scaleVectors(w.data, row, blocks, sv, scratch);
            kernels.decode(w.data, row, blocks, decoded);
            decodedRowTimesAll(decoded, blocks, sv, xn, k, n, y, yOffset + r, m, lanes);
        }
    }

    /**
     * A decoded row (its scale vectors in sv) against all n activation rows in lane order ({@code xn}, k apart):
     * four at a time, a remainder of one or two two at a time; output j at {@code y[at + j * m]}.
     */
    static void decodedRowTimesAll(float[] decoded, int blocks, float[] sv, float[] xn, int k, int n, float[] y, int at,
                                   int m, float[] lanes) {
        for (int j = 0; j < n; j += 4) {
            int group = Math.min(4, n - j), x0 = j * k;
            if (group <= 2) decodedTimesTwo(decoded, blocks, sv, xn, x0, x0 + (group - 1) * k, lanes);
            else decodedTimesFour(decoded, blocks, sv, xn, x0, x0 + k, x0 + 2 * k, x0 + (group - 1) * k, lanes);
            for (int i = 0; i < group; i++) y[at + (j + i) * m] = LaneSums.ofEight(lanes, 8 * i);
        }
    }

    /**
     * One activation row (k values from xOffset) into {@code xn[at ..]} in the kernels' order: in every 32
     * values, chunk i holds in lane L the value 4L + i.
     */
    static void laneOrder(float[] x, int xOffset, int k, float[] xn, int at) {
        for (int quarter = 0; quarter < k / 32; quarter++) {
            int from = xOffset + 32 * quarter, to = at + 32 * quarter;
            for (int i = 0; i < 4; i++) {
                for (int lane = 0; lane < 8; lane++) xn[to + 8 * i + lane] = x[from + 4 * lane + i];
            }
        }
    }

    /** A half super-block's eight scales, as its four quarters' scale vectors at {@code sv[at ..]}. */
    static void quarterVectors(FloatVector scales, float[] sv, int at) {
        scales.rearrange(QUARTER_0).intoArray(sv, at);
        scales.rearrange(QUARTER_1).intoArray(sv, at + 8);
        scales.rearrange(QUARTER_2).intoArray(sv, at + 16);
        scales.rearrange(QUARTER_3).intoArray(sv, at + 24);
    }

    private static final VectorShuffle<Float> QUARTER_0 = quarter(0), QUARTER_1 = quarter(1), QUARTER_2 = quarter(2),
            QUARTER_3 = quarter(3);

    /** Lanes 0-3 from scale 2q of a half's eight, lanes 4-7 from scale 2q + 1. */
    private static VectorShuffle<Float> quarter(int q) {
        return applies() ? VectorShuffle.fromValues(F, 2 * q, 2 * q, 2 * q, 2 * q, 2 * q + 1, 2 * q + 1, 2 * q + 1, 2 * q + 1) : null;
    }

    /**
     * A decoded row against four activation rows (at x0 .. x3 in xn), in {@link #row}'s order for each; the
     * accumulators' sums left at {@code lanes[8 i ..]}. A loop step is two quarters, an even and an odd one.
     */
    private static void decodedTimesFour(float[] decoded, int blocks, float[] sv, float[] xn, int x0, int x1, int x2,
                                         int x3, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        FloatVector w, scale, p0, p1, p2, p3;
        for (int pair = 0; pair < 4 * blocks; pair++) {
            int o = 64 * pair, v = 16 * pair;
            w = FloatVector.fromArray(F, decoded, o);
            p0 = w.mul(FloatVector.fromArray(F, xn, x0 + o));
            p1 = w.mul(FloatVector.fromArray(F, xn, x1 + o));
            p2 = w.mul(FloatVector.fromArray(F, xn, x2 + o));
            p3 = w.mul(FloatVector.fromArray(F, xn, x3 + o));
            w = FloatVector.fromArray(F, decoded, o + 8);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 8), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 8), p1);
            p2 = w.fma(FloatVector.fromArray(F, xn, x2 + o + 8), p2);
            p3 = w.fma(FloatVector.fromArray(F, xn, x3 + o + 8), p3);
            w = FloatVector.fromArray(F, decoded, o + 16);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 16), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 16), p1);
            p2 = w.fma(FloatVector.fromArray(F, xn, x2 + o + 16), p2);
            p3 = w.fma(FloatVector.fromArray(F, xn, x3 + o + 16), p3);
            w = FloatVector.fromArray(F, decoded, o + 24);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 24), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 24), p1);
            p2 = w.fma(FloatVector.fromArray(F, xn, x2 + o + 24), p2);
            p3 = w.fma(FloatVector.fromArray(F, xn, x3 + o + 24), p3);
            scale = FloatVector.fromArray(F, sv, v);
            a0 = p0.fma(scale, a0);
            a1 = p1.fma(scale, a1);
            a2 = p2.fma(scale, a2);
            a3 = p3.fma(scale, a3);
            w = FloatVector.fromArray(F, decoded, o + 32);
            p0 = w.mul(FloatVector.fromArray(F, xn, x0 + o + 32));
            p1 = w.mul(FloatVector.fromArray(F, xn, x1 + o + 32));
            p2 = w.mul(FloatVector.fromArray(F, xn, x2 + o + 32));
            p3 = w.mul(FloatVector.fromArray(F, xn, x3 + o + 32));
            w = FloatVector.fromArray(F, decoded, o + 40);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 40), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 40), p1);
            p2 = w.fma(FloatVector.fromArray(F, xn, x2 + o + 40), p2);
            p3 = w.fma(FloatVector.fromArray(F, xn, x3 + o + 40), p3);
            w = FloatVector.fromArray(F, decoded, o + 48);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 48), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 48), p1);
            p2 = w.fma(FloatVector.fromArray(F, xn, x2 + o + 48), p2);
            p3 = w.fma(FloatVector.fromArray(F, xn, x3 + o + 48), p3);
            w = FloatVector.fromArray(F, decoded, o + 56);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 56), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 56), p1);
            p2 = w.fma(FloatVector.fromArray(F, xn, x2 + o + 56), p2);
            p3 = w.fma(FloatVector.fromArray(F, xn, x3 + o + 56), p3);
            scale = FloatVector.fromArray(F, sv, v + 8);
            c0 = p0.fma(scale, c0);
            c1 = p1.fma(scale, c1);
            c2 = p2.fma(scale, c2);
            c3 = p3.fma(scale, c3);
        }
        a0.add(c0).intoArray(lanes, 0);
        a1.add(c1).intoArray(lanes, 8);
        a2.add(c2).intoArray(lanes, 16);
        a3.add(c3).intoArray(lanes, 24);
    }

    /** {@link #decodedTimesFour} for two activation rows (x1 may equal x0), the sums left at {@code lanes[0 ..]} and {@code lanes[8 ..]}. */
    private static void decodedTimesTwo(float[] decoded, int blocks, float[] sv, float[] xn, int x0, int x1, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, c0 = a0, c1 = a0;
        FloatVector w, scale, p0, p1;
        for (int pair = 0; pair < 4 * blocks; pair++) {
            int o = 64 * pair, v = 16 * pair;
            w = FloatVector.fromArray(F, decoded, o);
            p0 = w.mul(FloatVector.fromArray(F, xn, x0 + o));
            p1 = w.mul(FloatVector.fromArray(F, xn, x1 + o));
            w = FloatVector.fromArray(F, decoded, o + 8);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 8), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 8), p1);
            w = FloatVector.fromArray(F, decoded, o + 16);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 16), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 16), p1);
            w = FloatVector.fromArray(F, decoded, o + 24);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 24), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 24), p1);
            scale = FloatVector.fromArray(F, sv, v);
            a0 = p0.fma(scale, a0);
            a1 = p1.fma(scale, a1);
            w = FloatVector.fromArray(F, decoded, o + 32);
            p0 = w.mul(FloatVector.fromArray(F, xn, x0 + o + 32));
            p1 = w.mul(FloatVector.fromArray(F, xn, x1 + o + 32));
            w = FloatVector.fromArray(F, decoded, o + 40);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 40), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 40), p1);
            w = FloatVector.fromArray(F, decoded, o + 48);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 48), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 48), p1);
            w = FloatVector.fromArray(F, decoded, o + 56);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 56), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 56), p1);
            scale = FloatVector.fromArray(F, sv, v + 8);
            c0 = p0.fma(scale, c0);
            c1 = p1.fma(scale, c1);
        }
        a0.add(c0).intoArray(lanes, 0);
        a1.add(c1).intoArray(lanes, 8);
    }
}
