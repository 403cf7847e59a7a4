package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.I;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * {@link Q4_KFormat} matmuls on 256-bit vectors (AVX2), every n, in factored form. A sub-block's weights are
 * {@code d_j q - m_j} (ggml's dequantization), so its dot product with x is {@code d_j (q . x) - m_j (sum of
 * x)}: the quants, converted to float, go against x with one FMA per eight weights, and the mins against the
 * sub-block sums of x, computed once per activation row, with one FMA per super-block. llama.cpp factors its
 * Q4_K dot product the same way (its min term against Q8_K's block sums).
 *
 * <p>Against the dequantize-then-multiply kernels it replaced (two FMAs per eight weights, and a register copy
 * for each, since the min is the FMA's addend), a group of 64 weights took 16 rather than 21 cycles in an
 * in-cache loop on the Zen 2 EPYC. JMH 5632x2048 there, calls/s, two interleaved runs: n = 1 507-510 ->
 * 574-588 on 1 thread, 970-994 -> 1150-1157 on 2; 1 thread n = 2 337, n = 4 276, n = 8 173 (before about
 * 310, 280, 155). A quarter of the n = 1 time went to unpacking each row's scales ({@link Q4_KFormat#rowScales}:
 * 787 calls/s without it), a call per super-block; inlined into one loop, 586-590 -> 626-629 on 1 thread.
 *
 * <p>A group's 32 quant bytes are read as one vector of eight ints, and each nibble position of the ints
 * shifted down and masked: eight chunks of eight weights, in an order that is not the activations' (nibble t
 * of int lane L is weight 4L + t/2 of the low- or high-nibble sub-block), so each activation row is put in
 * that order once per call ({@link #nibbleOrder}). Against four eight-byte loads per group, each zero-extended,
 * and one accumulator: JMH 5632x2048, calls/s, interleaved runs, n = 1 598 -> 690-695 on 1 thread, 838 ->
 * 1312 on 2 (the 2-thread baseline in that run below its usual 1150-1222), 2048x5632 581 -> 662; 1 thread
 * n = 2 344 -> 372, n = 4 266 -> 312, n = 8 157 -> 159, n = 16 84 -> 82.
 *
 * <p><b>Order of sums</b>, the same for every n, so the matmul stays batch-invariant. Per output: the quants'
 * products of a sub-block in one eight-lane chain (its four chunks in nibble order, the first a multiply),
 * added with an FMA by {@code d_j} to one of two accumulators, low-nibble sub-blocks to the first, high-nibble
 * ones to the second, groups in order; the mins as {@link #minSum}; the result {@code LaneSums.ofEight(first
 * + second) - minSum}.
 */
final class Q4_KFactoredKernels {
    private static final int QK = Q4_KFormat.QK;
    private static final int BLOCK_BYTES = Q4_KFormat.BLOCK_BYTES;

    private Q4_KFactoredKernels() {}

    /** Whether these kernels run: 256-bit vectors (the f32 kernels of {@link Q4_KFormat} serve 512-bit ones). */
    static boolean applies() {
        return Lanes.LANES == 8;
    }

    /** n = 1: the activations in nibble order ({@link #nibbleOrder}), each row's sub-block scales, then {@link #row}. */
    static void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to,
                           KernelScratch scratch) {
        int k = w.cols, blocks = k / QK;
        float[] sc = scratch.scales(16 * blocks), xs = scratch.subBlockSums(8 * blocks), lanes = scratch.lanes;
        float[] xn = scratch.reorderedActivations(k);
        subBlockSums(x, xOffset, k, xs, 0, lanes);
        nibbleOrder(x, xOffset, k, xn, 0);
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            Q4_KFormat.rowScales(w.data, row, blocks, sc);
            scratch.prefetched += row(w.data, row, blocks, sc, xn, lanes, w.rowOffset(1) - w.rowOffset(0), w.rowOffset(w.rows) - 1);
            y[yOffset + r] = LaneSums.ofEight(lanes, 0) - minSum(sc, blocks, xs, 0, lanes);
        }
    }

    /**
     * n >= 2: each row's scales once, then {@link #rowTimesFour} against the activation rows four at a time, a
     * remainder of one or two rows {@link #rowTimesTwo}.
     */
    static void matmulRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                           KernelScratch scratch) {
        int k = w.cols, m = w.rows, blocks = k / QK;
        float[] sc = scratch.scales(16 * blocks), xs = scratch.subBlockSums(8 * blocks * n), lanes = scratch.lanes;
        float[] xn = scratch.reorderedActivations(n * k);
        for (int j = 0; j < n; j++) {
            subBlockSums(x, xOffset + j * k, k, xs, 8 * blocks * j, lanes);
            nibbleOrder(x, xOffset + j * k, k, xn, j * k);
        }
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            Q4_KFormat.rowScales(w.data, row, blocks, sc);
            for (int j = 0; j < n; j += 4) {
                int group = Math.min(4, n - j), x0 = j * k;
                if (group <= 2) rowTimesTwo(w.data, row, blocks, sc, xn, x0, x0 + (group - 1) * k, lanes);
                else rowTimesFour(w.data, row, blocks, sc, xn, x0, x0 + k, x0 + 2 * k, x0 + (group - 1) * k, lanes);
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

    /**
     * One row's quant products, scaled per sub-block, into two accumulators (low-nibble sub-blocks, high-nibble
     * ones) whose sum is left at {@code lanes[0 .. 8)}; xn is the activation row in {@link #nibbleOrder}. The
     * four groups of a super-block are written out: with offsets linear in the loop counter C2 hoists the
     * bounds checks of the weight, scale and activation loads (a loop over groups, computing the super-block
     * and group from the counter, kept them and ran 15 % slower), and a helper for one group would box its
     * vectors. The nibble of each chunk is shifted down and masked ({@code >>> 28} needs no mask).
     */
    private static int row(MemorySegment s, long w0, int blocks, float[] sc, float[] xn, float[] lanes, long ahead,
                           long lastByte) {
        FloatVector low = FloatVector.zero(F), high = low, pl, ph;
        IntVector v;
        int touched = 0;
        for (int b = 0; b < blocks; b++) {
            long q = w0 + (long) b * BLOCK_BYTES + 16;
            int o = QK * b, c = 16 * b;
            long next = q + AHEAD_ROWS * ahead; // every cache line of the super-block AHEAD_ROWS rows on
            touched += RowPrefetch.touch(s, next, lastByte) + RowPrefetch.touch(s, next + 64, lastByte)
                    + RowPrefetch.touch(s, next + 127, lastByte);

            v = IntVector.fromMemorySegment(I, s, q, LE);
            pl = ((FloatVector) v.and(0xF).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o));
            ph = ((FloatVector) v.lanewise(LSHR, 4).and(0xF).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 8));
            pl = ((FloatVector) v.lanewise(LSHR, 8).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 16), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 12).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 24), ph);
            pl = ((FloatVector) v.lanewise(LSHR, 16).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 32), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 20).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 40), ph);
            pl = ((FloatVector) v.lanewise(LSHR, 24).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 48), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 56), ph);
            low = pl.fma(FloatVector.broadcast(F, sc[c]), low);
            high = ph.fma(FloatVector.broadcast(F, sc[c + 1]), high);

            v = IntVector.fromMemorySegment(I, s, q + 32, LE);
            pl = ((FloatVector) v.and(0xF).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 64));
            ph = ((FloatVector) v.lanewise(LSHR, 4).and(0xF).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 72));
            pl = ((FloatVector) v.lanewise(LSHR, 8).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 80), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 12).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 88), ph);
            pl = ((FloatVector) v.lanewise(LSHR, 16).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 96), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 20).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 104), ph);
            pl = ((FloatVector) v.lanewise(LSHR, 24).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 112), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 120), ph);
            low = pl.fma(FloatVector.broadcast(F, sc[c + 2]), low);
            high = ph.fma(FloatVector.broadcast(F, sc[c + 3]), high);

            v = IntVector.fromMemorySegment(I, s, q + 64, LE);
            pl = ((FloatVector) v.and(0xF).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 128));
            ph = ((FloatVector) v.lanewise(LSHR, 4).and(0xF).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 136));
            pl = ((FloatVector) v.lanewise(LSHR, 8).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 144), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 12).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 152), ph);
            pl = ((FloatVector) v.lanewise(LSHR, 16).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 160), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 20).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 168), ph);
            pl = ((FloatVector) v.lanewise(LSHR, 24).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 176), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 184), ph);
            low = pl.fma(FloatVector.broadcast(F, sc[c + 4]), low);
            high = ph.fma(FloatVector.broadcast(F, sc[c + 5]), high);

            v = IntVector.fromMemorySegment(I, s, q + 96, LE);
            pl = ((FloatVector) v.and(0xF).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 192));
            ph = ((FloatVector) v.lanewise(LSHR, 4).and(0xF).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 200));
            pl = ((FloatVector) v.lanewise(LSHR, 8).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 208), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 12).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 216), ph);
            pl = ((FloatVector) v.lanewise(LSHR, 16).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 224), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 20).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 232), ph);
            pl = ((FloatVector) v.lanewise(LSHR, 24).and(0xF).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 240), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 248), ph);
            low = pl.fma(FloatVector.broadcast(F, sc[c + 6]), low);
            high = ph.fma(FloatVector.broadcast(F, sc[c + 7]), high);
        }
        low.add(high).intoArray(lanes, 0);
        return touched;
    }


    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /**
     * How far ahead {@link #row} touches the weights ({@link RowPrefetch}), in rows. One row at a time is one
     * memory stream, but a fast kernel catches up with the hardware prefetcher on long rows: without the
     * touches, JMH on the Zen 2 EPYC, 1 thread, 2048x5632 ran at 416-424 calls/s (the kernel before this class:
     * 450-454), with them 588 (1, 2, 4 and 8 rows ahead: 593, 574, 588, 588); 5632x2048 587 -> 599 (1 and 2
     * rows ahead cost 5 %). A 1.1B Q4_K model (`bench -t 1,2 --batch 1 -n 32 -p 0 -r 3`, two interleaved rounds
     * against the kernel before this class) 4.90-4.94 -> 6.07-6.09 tokens/s on 1 thread, 9.23-9.34 -> 9.79-11.50
     * on 2.
     */
    static final int AHEAD_ROWS = 4;

    /**
     * {@link #row} against four activation rows (at x0 .. x3 in xn, each in {@link #nibbleOrder}), each chunk
     * converted once for all four: per group the low-nibble products of the four rows, then the high ones,
     * which is {@link #row}'s order for each row. The accumulators' sums left at {@code lanes[8 i ..]}.
     */
    private static void rowTimesFour(MemorySegment s, long w0, int blocks, float[] sc, float[] xn, int x0, int x1, int x2,
                                     int x3, float[] lanes) {
        FloatVector low0 = FloatVector.zero(F), low1 = low0, low2 = low0, low3 = low0;
        FloatVector high0 = low0, high1 = low0, high2 = low0, high3 = low0, q, p0, p1, p2, p3;
        for (int group = 0; group < 4 * blocks; group++) {
            int b = group >> 2, g = group & 3;
            int c = 16 * b + 2 * g, o = 64 * group;
            IntVector v = IntVector.fromMemorySegment(I, s, w0 + (long) b * BLOCK_BYTES + 16 + 32L * g, LE);
            FloatVector d = FloatVector.broadcast(F, sc[c]);
            q = ((FloatVector) v.and(0xF).convert(I2F, 0));
            p0 = q.mul(FloatVector.fromArray(F, xn, x0 + o));
            p1 = q.mul(FloatVector.fromArray(F, xn, x1 + o));
            p2 = q.mul(FloatVector.fromArray(F, xn, x2 + o));
            p3 = q.mul(FloatVector.fromArray(F, xn, x3 + o));
            q = ((FloatVector) v.lanewise(LSHR, 8).and(0xF).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 16), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 16), p1);
            p2 = q.fma(FloatVector.fromArray(F, xn, x2 + o + 16), p2);
            p3 = q.fma(FloatVector.fromArray(F, xn, x3 + o + 16), p3);
            q = ((FloatVector) v.lanewise(LSHR, 16).and(0xF).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 32), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 32), p1);
            p2 = q.fma(FloatVector.fromArray(F, xn, x2 + o + 32), p2);
            p3 = q.fma(FloatVector.fromArray(F, xn, x3 + o + 32), p3);
            q = ((FloatVector) v.lanewise(LSHR, 24).and(0xF).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 48), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 48), p1);
            p2 = q.fma(FloatVector.fromArray(F, xn, x2 + o + 48), p2);
            p3 = q.fma(FloatVector.fromArray(F, xn, x3 + o + 48), p3);
            low0 = p0.fma(d, low0);
            low1 = p1.fma(d, low1);
            low2 = p2.fma(d, low2);
            low3 = p3.fma(d, low3);
            d = FloatVector.broadcast(F, sc[c + 1]);
            q = ((FloatVector) v.lanewise(LSHR, 4).and(0xF).convert(I2F, 0));
            p0 = q.mul(FloatVector.fromArray(F, xn, x0 + o + 8));
            p1 = q.mul(FloatVector.fromArray(F, xn, x1 + o + 8));
            p2 = q.mul(FloatVector.fromArray(F, xn, x2 + o + 8));
            p3 = q.mul(FloatVector.fromArray(F, xn, x3 + o + 8));
            q = ((FloatVector) v.lanewise(LSHR, 12).and(0xF).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 24), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 24), p1);
            p2 = q.fma(FloatVector.fromArray(F, xn, x2 + o + 24), p2);
            p3 = q.fma(FloatVector.fromArray(F, xn, x3 + o + 24), p3);
            q = ((FloatVector) v.lanewise(LSHR, 20).and(0xF).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 40), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 40), p1);
            p2 = q.fma(FloatVector.fromArray(F, xn, x2 + o + 40), p2);
            p3 = q.fma(FloatVector.fromArray(F, xn, x3 + o + 40), p3);
            q = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 56), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 56), p1);
            p2 = q.fma(FloatVector.fromArray(F, xn, x2 + o + 56), p2);
            p3 = q.fma(FloatVector.fromArray(F, xn, x3 + o + 56), p3);
            high0 = p0.fma(d, high0);
            high1 = p1.fma(d, high1);
            high2 = p2.fma(d, high2);
            high3 = p3.fma(d, high3);
        }
        low0.add(high0).intoArray(lanes, 0);
        low1.add(high1).intoArray(lanes, 8);
        low2.add(high2).intoArray(lanes, 16);
        low3.add(high3).intoArray(lanes, 24);
    }

    /** {@link #rowTimesFour} for two activation rows (x1 may equal x0), the sums left at {@code lanes[0 ..]} and {@code lanes[8 ..]}. */
    private static void rowTimesTwo(MemorySegment s, long w0, int blocks, float[] sc, float[] xn, int x0, int x1,
                                    float[] lanes) {
        FloatVector low0 = FloatVector.zero(F), low1 = low0, high0 = low0, high1 = low0, q, p0, p1;
        for (int group = 0; group < 4 * blocks; group++) {
            int b = group >> 2, g = group & 3;
            int c = 16 * b + 2 * g, o = 64 * group;
            IntVector v = IntVector.fromMemorySegment(I, s, w0 + (long) b * BLOCK_BYTES + 16 + 32L * g, LE);
            FloatVector d = FloatVector.broadcast(F, sc[c]);
            q = ((FloatVector) v.and(0xF).convert(I2F, 0));
            p0 = q.mul(FloatVector.fromArray(F, xn, x0 + o));
            p1 = q.mul(FloatVector.fromArray(F, xn, x1 + o));
            q = ((FloatVector) v.lanewise(LSHR, 8).and(0xF).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 16), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 16), p1);
            q = ((FloatVector) v.lanewise(LSHR, 16).and(0xF).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 32), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 32), p1);
            q = ((FloatVector) v.lanewise(LSHR, 24).and(0xF).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 48), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 48), p1);
            low0 = p0.fma(d, low0);
            low1 = p1.fma(d, low1);
            d = FloatVector.broadcast(F, sc[c + 1]);
            q = ((FloatVector) v.lanewise(LSHR, 4).and(0xF).convert(I2F, 0));
            p0 = q.mul(FloatVector.fromArray(F, xn, x0 + o + 8));
            p1 = q.mul(FloatVector.fromArray(F, xn, x1 + o + 8));
            q = ((FloatVector) v.lanewise(LSHR, 12).and(0xF).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 24), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 24), p1);
            q = ((FloatVector) v.lanewise(LSHR, 20).and(0xF).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 40), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 40), p1);
            q = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 56), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 56), p1);
            high0 = p0.fma(d, high0);
            high1 = p1.fma(d, high1);
        }
        low0.add(high0).intoArray(lanes, 0);
        low1.add(high1).intoArray(lanes, 8);
    }
}
