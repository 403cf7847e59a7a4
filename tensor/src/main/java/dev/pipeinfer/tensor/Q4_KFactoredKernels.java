package dev.pipeinfer.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.I;

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
 * <p><b>Order of sums</b>, the same for every n, so the matmul stays batch-invariant. Per output: the quants'
 * products of a sub-block in one eight-lane chain (chunks in order, the first a multiply), added to the
 * accumulator with an FMA by {@code d_j}, low-nibble sub-block first, groups in order; the mins as
 * {@link #minSum}; the result {@code LaneSums.ofEight(accumulator) - minSum}.
 */
final class Q4_KFactoredKernels {
    private static final int QK = Q4_KFormat.QK;
    private static final int BLOCK_BYTES = Q4_KFormat.BLOCK_BYTES;

    private Q4_KFactoredKernels() {}

    /** Whether these kernels run: 256-bit vectors (the f32 kernels of {@link Q4_KFormat} serve 512-bit ones). */
    static boolean applies() {
        return Lanes.LANES == 8;
    }

    /** n = 1: each row's sub-block scales (the dequantizer's floats), then {@link #row}. */
    static void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to,
                           KernelScratch scratch) {
        int blocks = w.cols / QK;
        float[] sc = scratch.scales(16 * blocks), xs = scratch.subBlockSums(8 * blocks), lanes = scratch.lanes;
        subBlockSums(x, xOffset, w.cols, xs, 0, lanes);
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            Q4_KFormat.rowScales(w.data, row, blocks, sc);
            scratch.prefetched += row(w.data, row, blocks, sc, x, xOffset, lanes, w.rowOffset(1) - w.rowOffset(0), w.rowOffset(w.rows) - 1);
            y[yOffset + r] = LaneSums.ofEight(lanes, 0) - minSum(sc, blocks, xs, 0, lanes);
        }
    }

    /** n >= 2: each row's scales once, then {@link #rowTimesFour} against the activation rows four at a time. */
    static void matmulRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                           KernelScratch scratch) {
        int k = w.cols, m = w.rows, blocks = k / QK;
        float[] sc = scratch.scales(16 * blocks), xs = scratch.subBlockSums(8 * blocks * n), lanes = scratch.lanes;
        for (int j = 0; j < n; j++) subBlockSums(x, xOffset + j * k, k, xs, 8 * blocks * j, lanes);
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            Q4_KFormat.rowScales(w.data, row, blocks, sc);
            for (int j = 0; j < n; j += 4) {
                int group = Math.min(4, n - j), x0 = xOffset + j * k;
                rowTimesFour(w.data, row, blocks, sc, x, x0, x0 + Math.min(1, group - 1) * k,
                        x0 + Math.min(2, group - 1) * k, x0 + (group - 1) * k, lanes);
                for (int i = 0; i < group; i++) {
                    float dots = LaneSums.ofEight(lanes, 8 * i);
                    y[yOffset + (j + i) * m + r] = dots - minSum(sc, blocks, xs, 8 * blocks * (j + i), lanes);
                }
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

    /** Eight bytes at {@code at}, zero-extended to ints. */
    private static IntVector bytes(MemorySegment s, long at) {
        return (IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, s, at, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    /**
     * One row's quant products, scaled per sub-block, into one accumulator left at {@code lanes[0 .. 8)}. A
     * group's 32 bytes are four pieces of eight: their low nibbles are sub-block 2g, their high nibbles 2g + 1.
     */
    private static int row(MemorySegment s, long w0, int blocks, float[] sc, float[] x, int xOffset, float[] lanes,
                           long ahead, long lastByte) {
        FloatVector acc = FloatVector.zero(F);
        int touched = 0;
        for (int group = 0; group < 4 * blocks; group++) {
            int b = group >> 2, g = group & 3;
            int c = 16 * b + 2 * g, xg = xOffset + 64 * group;
            long q = w0 + (long) b * BLOCK_BYTES + 16 + 32L * g;
            touched += RowPrefetch.touch(s, q + AHEAD_ROWS * ahead, lastByte);
            IntVector p0 = bytes(s, q), p1 = bytes(s, q + 8), p2 = bytes(s, q + 16), p3 = bytes(s, q + 24);
            FloatVector low = ((FloatVector) p0.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, x, xg));
            low = ((FloatVector) p1.and(0xF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xg + 8), low);
            low = ((FloatVector) p2.and(0xF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xg + 16), low);
            low = ((FloatVector) p3.and(0xF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xg + 24), low);
            FloatVector high = ((FloatVector) p0.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, x, xg + 32));
            high = ((FloatVector) p1.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xg + 40), high);
            high = ((FloatVector) p2.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xg + 48), high);
            high = ((FloatVector) p3.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xg + 56), high);
            acc = low.fma(FloatVector.broadcast(F, sc[c]), acc);
            acc = high.fma(FloatVector.broadcast(F, sc[c + 1]), acc);
        }
        acc.intoArray(lanes, 0);
        return touched;
    }

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
     * {@link #row} against four activation rows (from x0 .. x3), each piece converted once for all four; the
     * accumulators left at {@code lanes[8 i ..]}. The sub-block dot products are written out: as a helper
     * returning the vector, C2 boxed them (48 calls/s of 5632x2048 at n = 4 against 276).
     */
    private static void rowTimesFour(MemorySegment s, long w0, int blocks, float[] sc, float[] x, int x0, int x1, int x2,
                                     int x3, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int group = 0; group < 4 * blocks; group++) {
            int b = group >> 2, g = group & 3;
            int c = 16 * b + 2 * g, o = 64 * group;
            long q = w0 + (long) b * BLOCK_BYTES + 16 + 32L * g;
            IntVector p0 = bytes(s, q), p1 = bytes(s, q + 8), p2 = bytes(s, q + 16), p3 = bytes(s, q + 24);
            FloatVector q0 = (FloatVector) p0.and(0xF).convert(VectorOperators.I2F, 0);
            FloatVector q1 = (FloatVector) p1.and(0xF).convert(VectorOperators.I2F, 0);
            FloatVector q2 = (FloatVector) p2.and(0xF).convert(VectorOperators.I2F, 0);
            FloatVector q3 = (FloatVector) p3.and(0xF).convert(VectorOperators.I2F, 0);
            FloatVector d = FloatVector.broadcast(F, sc[c]), p;
            p = q0.mul(FloatVector.fromArray(F, x, x0 + o));
            p = q1.fma(FloatVector.fromArray(F, x, x0 + o + 8), p);
            p = q2.fma(FloatVector.fromArray(F, x, x0 + o + 16), p);
            p = q3.fma(FloatVector.fromArray(F, x, x0 + o + 24), p);
            a0 = p.fma(d, a0);
            p = q0.mul(FloatVector.fromArray(F, x, x1 + o));
            p = q1.fma(FloatVector.fromArray(F, x, x1 + o + 8), p);
            p = q2.fma(FloatVector.fromArray(F, x, x1 + o + 16), p);
            p = q3.fma(FloatVector.fromArray(F, x, x1 + o + 24), p);
            a1 = p.fma(d, a1);
            p = q0.mul(FloatVector.fromArray(F, x, x2 + o));
            p = q1.fma(FloatVector.fromArray(F, x, x2 + o + 8), p);
            p = q2.fma(FloatVector.fromArray(F, x, x2 + o + 16), p);
            p = q3.fma(FloatVector.fromArray(F, x, x2 + o + 24), p);
            a2 = p.fma(d, a2);
            p = q0.mul(FloatVector.fromArray(F, x, x3 + o));
            p = q1.fma(FloatVector.fromArray(F, x, x3 + o + 8), p);
            p = q2.fma(FloatVector.fromArray(F, x, x3 + o + 16), p);
            p = q3.fma(FloatVector.fromArray(F, x, x3 + o + 24), p);
            a3 = p.fma(d, a3);
            q0 = (FloatVector) p0.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0);
            q1 = (FloatVector) p1.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0);
            q2 = (FloatVector) p2.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0);
            q3 = (FloatVector) p3.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0);
            d = FloatVector.broadcast(F, sc[c + 1]);
            p = q0.mul(FloatVector.fromArray(F, x, x0 + o + 32));
            p = q1.fma(FloatVector.fromArray(F, x, x0 + o + 32 + 8), p);
            p = q2.fma(FloatVector.fromArray(F, x, x0 + o + 32 + 16), p);
            p = q3.fma(FloatVector.fromArray(F, x, x0 + o + 32 + 24), p);
            a0 = p.fma(d, a0);
            p = q0.mul(FloatVector.fromArray(F, x, x1 + o + 32));
            p = q1.fma(FloatVector.fromArray(F, x, x1 + o + 32 + 8), p);
            p = q2.fma(FloatVector.fromArray(F, x, x1 + o + 32 + 16), p);
            p = q3.fma(FloatVector.fromArray(F, x, x1 + o + 32 + 24), p);
            a1 = p.fma(d, a1);
            p = q0.mul(FloatVector.fromArray(F, x, x2 + o + 32));
            p = q1.fma(FloatVector.fromArray(F, x, x2 + o + 32 + 8), p);
            p = q2.fma(FloatVector.fromArray(F, x, x2 + o + 32 + 16), p);
            p = q3.fma(FloatVector.fromArray(F, x, x2 + o + 32 + 24), p);
            a2 = p.fma(d, a2);
            p = q0.mul(FloatVector.fromArray(F, x, x3 + o + 32));
            p = q1.fma(FloatVector.fromArray(F, x, x3 + o + 32 + 8), p);
            p = q2.fma(FloatVector.fromArray(F, x, x3 + o + 32 + 16), p);
            p = q3.fma(FloatVector.fromArray(F, x, x3 + o + 32 + 24), p);
            a3 = p.fma(d, a3);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, 8);
        a2.intoArray(lanes, 16);
        a3.intoArray(lanes, 24);
    }
}
