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
 * {@link Q4_KFormat}'s side of {@link FactoredKernels} (256-bit vectors): a group's 32 quant bytes are read as
 * one vector of eight ints, and each nibble position of the ints shifted down and masked, eight chunks of eight
 * weights in {@link FactoredKernels#nibbleOrder}.
 *
 * <p>Against the dequantize-then-multiply kernels the factored form replaced (two FMAs per eight weights, and a
 * register copy for each, since the min is the FMA's addend), a group of 64 weights took 16 rather than 21
 * cycles in an in-cache loop on the Zen 2 EPYC. JMH 5632x2048 there, calls/s, two interleaved runs: n = 1
 * 507-510 -> 574-588 on 1 thread, 970-994 -> 1150-1157 on 2; 1 thread n = 2 337, n = 4 276, n = 8 173 (before
 * about 310, 280, 155). A quarter of the n = 1 time went to unpacking each row's scales
 * ({@link Q4_KFormat#rowScales}: 787 calls/s without it), a call per super-block; inlined into one loop,
 * 586-590 -> 626-629 on 1 thread.
 *
 * <p>Reading each group as eight ints, against four eight-byte loads per group, each zero-extended, and one
 * accumulator: JMH 5632x2048, calls/s, interleaved runs, n = 1 598 -> 690-695 on 1 thread, 838 -> 1312 on 2
 * (the 2-thread baseline in that run below its usual 1150-1222), 2048x5632 581 -> 662; 1 thread n = 2 344 ->
 * 372, n = 4 266 -> 312, n = 8 157 -> 159, n = 16 84 -> 82.
 *
 * <p>{@link #row} steps the weight offset and the activation index as loop variables (as {@link Int8Matmul}'s
 * n = 1 kernels): JMH n = 1 735 -> 841 calls/s on 1 thread, 1615 on 2. Tried and slower here: the batch
 * kernels in that shape (n = 4 319 -> 255), two rows at a time (C2 gave up on the four groups written out;
 * with a loop over groups 626 calls/s), and nibbles made floats without a conversion (or-ed into the mantissa
 * of 2^23 under a mask, 2^23 subtracted, activations scaled by powers of two to match: 625).
 */
final class Q4_KFactoredKernels implements FactoredKernels.RowKernels {
    static final Q4_KFactoredKernels INSTANCE = new Q4_KFactoredKernels();
    private static final int QK = Q4_KFormat.QK;
    private static final int BLOCK_BYTES = Q4_KFormat.BLOCK_BYTES;

    private Q4_KFactoredKernels() {}

    /** {@link #row} reads nibbles 1-6 of its ints in place ({@link InPlaceWeights}). */
    @Override
    public void rowActivations(float[] x, int xOffset, int k, float[] xn) {
        FactoredKernels.nibbleOrder(x, xOffset, k, xn, 0);
        InPlaceWeights.scaleChunks(xn, k, InPlaceWeights.NIBBLE_ORDER);
    }

    @Override
    public void rowScales(MemorySegment s, long row, int blocks, float[] sc) {
        Q4_KFormat.rowScales(s, row, blocks, sc);
    }

    /**
     * One row's quant products, scaled per sub-block, into two accumulators (low-nibble sub-blocks, high-nibble
     * ones) whose sum is left at {@code lanes[0 .. 8)}; xn is the activation row in {@link FactoredKernels#nibbleOrder}. The
     * four groups of a super-block are written out: with offsets linear in the loop counter C2 hoists the
     * bounds checks of the weight, scale and activation loads (a loop over groups, computing the super-block
     * and group from the counter, kept them and ran 15 % slower), and a helper for one group would box its
     * vectors. The nibble of each chunk is shifted down and masked ({@code >>> 28} needs no mask).
     */
    @Override
    public int row(MemorySegment s, long w0, int blocks, float[] sc, float[] xn, float[] lanes, long aheadBytes) {
        FloatVector low = FloatVector.zero(F), high = low, pl, ph;
        IntVector v;
        int touched = 0;
        long q = w0 + 16;
        for (int o = 0; o < QK * blocks; o += QK, q += BLOCK_BYTES) {
            int c = o >>> 4;
            long next = q + aheadBytes; // every cache line of the super-block AHEAD_ROWS rows on
            touched += RowPrefetch.touch(s, next) + RowPrefetch.touch(s, next + 64) + RowPrefetch.touch(s, next + 127);

            v = IntVector.fromMemorySegment(I, s, q, LE);
            pl = ((FloatVector) v.and(0xF).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o));
            ph = ((FloatVector) v.and(0xF << 4).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 8));
            pl = ((FloatVector) v.and(0xF << 8).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 16), pl);
            ph = ((FloatVector) v.and(0xF << 12).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 24), ph);
            pl = ((FloatVector) v.and(0xF << 16).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 32), pl);
            ph = ((FloatVector) v.and(0xF << 20).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 40), ph);
            pl = ((FloatVector) v.and(0xF << 24).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 48), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 56), ph);
            low = pl.fma(FloatVector.broadcast(F, sc[c]), low);
            high = ph.fma(FloatVector.broadcast(F, sc[c + 1]), high);

            v = IntVector.fromMemorySegment(I, s, q + 32, LE);
            pl = ((FloatVector) v.and(0xF).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 64));
            ph = ((FloatVector) v.and(0xF << 4).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 72));
            pl = ((FloatVector) v.and(0xF << 8).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 80), pl);
            ph = ((FloatVector) v.and(0xF << 12).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 88), ph);
            pl = ((FloatVector) v.and(0xF << 16).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 96), pl);
            ph = ((FloatVector) v.and(0xF << 20).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 104), ph);
            pl = ((FloatVector) v.and(0xF << 24).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 112), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 120), ph);
            low = pl.fma(FloatVector.broadcast(F, sc[c + 2]), low);
            high = ph.fma(FloatVector.broadcast(F, sc[c + 3]), high);

            v = IntVector.fromMemorySegment(I, s, q + 64, LE);
            pl = ((FloatVector) v.and(0xF).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 128));
            ph = ((FloatVector) v.and(0xF << 4).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 136));
            pl = ((FloatVector) v.and(0xF << 8).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 144), pl);
            ph = ((FloatVector) v.and(0xF << 12).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 152), ph);
            pl = ((FloatVector) v.and(0xF << 16).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 160), pl);
            ph = ((FloatVector) v.and(0xF << 20).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 168), ph);
            pl = ((FloatVector) v.and(0xF << 24).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 176), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 184), ph);
            low = pl.fma(FloatVector.broadcast(F, sc[c + 4]), low);
            high = ph.fma(FloatVector.broadcast(F, sc[c + 5]), high);

            v = IntVector.fromMemorySegment(I, s, q + 96, LE);
            pl = ((FloatVector) v.and(0xF).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 192));
            ph = ((FloatVector) v.and(0xF << 4).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 200));
            pl = ((FloatVector) v.and(0xF << 8).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 208), pl);
            ph = ((FloatVector) v.and(0xF << 12).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 216), ph);
            pl = ((FloatVector) v.and(0xF << 16).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 224), pl);
            ph = ((FloatVector) v.and(0xF << 20).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 232), ph);
            pl = ((FloatVector) v.and(0xF << 24).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 240), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 28).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 248), ph);
            low = pl.fma(FloatVector.broadcast(F, sc[c + 6]), low);
            high = ph.fma(FloatVector.broadcast(F, sc[c + 7]), high);
        }
        low.add(high).intoArray(lanes, 0);
        return touched;
    }


    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /**
     * {@link #row} against four activation rows (at x0 .. x3 in xn, each in {@link FactoredKernels#nibbleOrder}), each chunk
     * converted once for all four: per group the low-nibble products of the four rows, then the high ones,
     * which is {@link #row}'s order for each row. The accumulators' sums left at {@code lanes[8 i ..]}.
     */
    @Override
    public void rowTimesFour(MemorySegment s, long w0, int blocks, float[] sc, float[] xn, int x0, int x1, int x2,
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
    @Override
    public void rowTimesTwo(MemorySegment s, long w0, int blocks, float[] sc, float[] xn, int x0, int x1, float[] lanes) {
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
