package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static dev.pipeinfer.tensor.Lanes.F;

/**
 * Matmuls of the k-quants whose weights are {@code d_j q - m_j} (ggml's dequantization of Q4_K and Q5_K) on
 * 256-bit vectors (AVX2), every n, in factored form: a sub-block's dot product with x is {@code d_j (q . x) -
 * m_j (sum of x)}, so the quants, converted to float, go against x with one FMA per eight weights, and the mins
 * against the sub-block sums of x, computed once per activation row, with one FMA per super-block. llama.cpp
 * factors its Q4_K and Q5_K dot products the same way (the min term against Q8_K's block sums). This class
 * holds the drivers and the activations' side; each type's {@link RowKernels} reads its blocks.
 *
 * <p>The kernels read a group's 32 quant bytes as eight ints and take each nibble position of the ints in
 * turn: eight chunks of eight weights in an order that is not the activations' (nibble t of int lane L is
 * weight 4L + t/2 of the low- or high-nibble sub-block), so each activation row is put in that order once per
 * call ({@link #nibbleOrder}).
 *
 * <p><b>Order of sums</b>, the same for every n, so the matmul stays batch-invariant. Per output: the quants'
 * products of a sub-block in one eight-lane chain (its four chunks in nibble order, the first a multiply),
 * added with an FMA by {@code d_j} to one of two accumulators, low-nibble sub-blocks to the first, high-nibble
 * ones to the second, groups in order; the mins as {@link #minSum}; the result {@code LaneSums.ofEight(first
 * + second) - minSum}.
 */
final class FactoredKernels {
    private static final int QK = 256;

    private FactoredKernels() {}

    /** A type's block layout, read by kernels over one weight row; activation rows in {@link #nibbleOrder}. */
    interface RowKernels {
        /** Each super-block's eight sub-block scales {@code d_j} into {@code sc[16 b ..]}, its mins {@code m_j} after them. */
        void rowScales(MemorySegment s, long row, int blocks, float[] sc);

        /**
         * n = 1: the row's two accumulators' sum left at {@code lanes[0 .. 8)}, touching every cache line of
         * the weights {@code aheadBytes} on ({@link RowPrefetch#aheadBytes}); returns the touched bytes' sum.
         */
        int row(MemorySegment s, long w0, int blocks, float[] sc, float[] xn, float[] lanes, long aheadBytes);

        /**
         * The activation row (k values from xOffset) into {@code xn[0 .. k)} as {@link #row} reads it: {@link
         * #nibbleOrder}, unless the type's n = 1 kernel wants it scaled as well. The batch kernels read {@link
         * #nibbleOrder}.
         */
        default void rowActivations(float[] x, int xOffset, int k, float[] xn) {
            nibbleOrder(x, xOffset, k, xn, 0);
        }

        /** {@link #row} against four activation rows (at x0 .. x3 in xn), the sums left at {@code lanes[8 i ..]}. */
        void rowTimesFour(MemorySegment s, long w0, int blocks, float[] sc, float[] xn, int x0, int x1, int x2, int x3,
                          float[] lanes);

        /** {@link #row} against two activation rows (x1 may equal x0), the sums left at {@code lanes[0 ..]} and {@code lanes[8 ..]}. */
        void rowTimesTwo(MemorySegment s, long w0, int blocks, float[] sc, float[] xn, int x0, int x1, float[] lanes);
    }

    /** Whether these kernels run: 256-bit vectors (the f32 kernels of {@link Q4_KFormat} and {@link Q5_KFormat} serve 512-bit ones). */
    static boolean applies() {
        return Lanes.LANES == 8;
    }

    /** n = 1: the activations in nibble order ({@link #nibbleOrder}), each row's sub-block scales, then the type's {@link RowKernels#row}. */
    static void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to,
                           KernelScratch scratch, RowKernels kernels) {
        int k = w.cols, blocks = k / QK;
        float[] sc = scratch.scales(16 * blocks), xs = scratch.subBlockSums(8 * blocks), lanes = scratch.lanes;
        float[] xn = scratch.reorderedActivations(k);
        subBlockSums(x, xOffset, k, xs, 0, lanes);
        kernels.rowActivations(x, xOffset, k, xn);
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            kernels.rowScales(w.data, row, blocks, sc);
            scratch.prefetched += kernels.row(w.data, row, blocks, sc, xn, lanes, RowPrefetch.aheadBytes(w, r));
            y[yOffset + r] = LaneSums.ofEight(lanes, 0) - minSum(sc, blocks, xs, 0, lanes);
        }
    }

    /**
     * n >= 2: each row's scales once, then {@link RowKernels#rowTimesFour} against the activation rows four at a time, a
     * remainder of one or two rows {@link RowKernels#rowTimesTwo}.
     */
    static void matmulRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                           KernelScratch scratch, RowKernels kernels) {
        int k = w.cols, m = w.rows, blocks = k / QK;
        float[] sc = scratch.scales(16 * blocks), xs = scratch.subBlockSums(8 * blocks * n), lanes = scratch.lanes;
        float[] xn = scratch.reorderedActivations(n * k);
        for (int j = 0; j < n; j++) {
            subBlockSums(x, xOffset + j * k, k, xs, 8 * blocks * j, lanes);
            nibbleOrder(x, xOffset + j * k, k, xn, j * k);
        }
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            kernels.rowScales(w.data, row, blocks, sc);
            for (int j = 0; j < n; j += 4) {
                int group = Math.min(4, n - j), x0 = j * k;
                if (group <= 2) kernels.rowTimesTwo(w.data, row, blocks, sc, xn, x0, x0 + (group - 1) * k, lanes);
                else kernels.rowTimesFour(w.data, row, blocks, sc, xn, x0, x0 + k, x0 + 2 * k, x0 + (group - 1) * k, lanes);
                for (int i = 0; i < group; i++) {
                    float dots = LaneSums.ofEight(lanes, 8 * i);
                    y[yOffset + (j + i) * m + r] = dots - minSum(sc, blocks, xs, 8 * blocks * (j + i), lanes);
                }
            }
        }
    }

    /**
     * One activation row (k values from xOffset) into {@code xn[at ..]} in the order the kernels take the
     * weights: a group's 32 quant bytes are read as eight ints, and nibble t of int lane L is weight 4L + t/2
     * of the group's sub-block 2g (t even, low nibbles) or 2g + 1 (t odd), so chunk t of the group's 64
     * reordered values holds, in lane L, the x that weight meets.
     */
    static void nibbleOrder(float[] x, int xOffset, int k, float[] xn, int at) {
        for (int group = 0; group < k / 64; group++) {
            int from = xOffset + 64 * group, to = at + 64 * group;
            for (int t = 0; t < 8; t++) {
                for (int lane = 0; lane < 8; lane++) xn[to + 8 * t + lane] = x[from + 32 * (t & 1) + 4 * lane + (t >> 1)];
            }
        }
    }

    /**
     * The sums of x's 32-value sub-blocks (one row of k values from xOffset) into {@code sums[at ..]}: four
     * chunks of eight added in order, then {@link LaneSums#ofEight}. {@code lanes[96 ..]} is scratch.
     */
    static void subBlockSums(float[] x, int xOffset, int k, float[] sums, int at, float[] lanes) {
        for (int i = 0; i < k / 32; i++) {
            int a = xOffset + 32 * i;
            FloatVector.fromArray(F, x, a).add(FloatVector.fromArray(F, x, a + 8)).add(FloatVector.fromArray(F, x, a + 16))
                    .add(FloatVector.fromArray(F, x, a + 24)).intoArray(lanes, 96);
            sums[at + i] = LaneSums.ofEight(lanes, 96);
        }
    }

    /**
     * The min term of one output: each super-block's eight mins ({@code sc[16 b + 8 ..]}) times its eight
     * sub-block sums of x ({@code xs[at + 8 b ..]}), one FMA per super-block into eight lanes, then
     * {@link LaneSums#ofEight}. {@code lanes[104 ..]} is scratch.
     */
    static float minSum(float[] sc, int blocks, float[] xs, int at, float[] lanes) {
        FloatVector mins = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) mins = FloatVector.fromArray(F, sc, 16 * b + 8).fma(FloatVector.fromArray(F, xs, at + 8 * b), mins);
        mins.intoArray(lanes, 104);
        return LaneSums.ofEight(lanes, 104);
    }

}
