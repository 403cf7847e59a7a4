package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.I;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * {@link Q5_KFormat}'s side of {@link FactoredKernels} (256-bit vectors), {@link Q4_KFactoredKernels} with a
 * fifth bit: the super-block's 32 qh bytes are read as eight ints too, and byte i of lane L gives weight
 * 4L + i of group g its fifth bit from bit 2g (low-nibble sub-block) or 2g + 1 (high), shifted to bit 4 and
 * or-ed to the nibble.
 *
 * <p>Against the kernels it replaced (each chunk's bytes loaded and widened separately, each weight
 * dequantized before its FMA, the tiled path from n = 9), JMH on the Zen 2 EPYC, calls/s: 5632x2048 n = 1
 * 309 -> 437 on 1 thread, 584 -> 857 on 2, 2048x5632 280 -> 431 on 1; 1 thread 5632x2048 n = 2 199 -> 370,
 * n = 4 186 -> 262, n = 8 109 -> 142, n = 16 65 -> 73, n = 64 22 -> 18 (where the tiled path did better).
 */
final class Q5_KFactoredKernels implements FactoredKernels.RowKernels {
    static final Q5_KFactoredKernels INSTANCE = new Q5_KFactoredKernels();
    private static final int QK = Q5_KFormat.QK;
    private static final int BLOCK_BYTES = Q5_KFormat.BLOCK_BYTES;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Q5_KFactoredKernels() {}

    /** {@link #row} reads most weights in place, the fifth bits moved up to them ({@link InPlaceWeights}). */
    @Override
    public void rowActivations(float[] x, int xOffset, int k, float[] xn) {
        FactoredKernels.nibbleOrder(x, xOffset, k, xn, 0);
        InPlaceWeights.scaleChunks(xn, k, InPlaceWeights.NIBBLE_ORDER);
    }

    @Override
    public void rowScales(MemorySegment s, long row, int blocks, float[] sc) {
        Q5_KFormat.rowScales(s, row, blocks, sc);
    }

    /**
     * One row, as {@link Q4_KFactoredKernels#row} but a group per loop step: the super-block's four groups
     * written out, with the fifth bits, were too big for C2, which left the vector operations to the Java
     * fallback (1.2 GB allocated per call of 5632x2048). The super-block {@link RowPrefetch#AHEAD_ROWS}
     * rows on is touched with its first group, every cache line of it.
     */
    @Override
    public int row(MemorySegment s, long w0, int blocks, float[] sc, float[] xn, float[] lanes, long aheadBytes) {
        FloatVector low = FloatVector.zero(F), high = low, pl, ph;
        int touched = 0;
        for (int group = 0; group < 4 * blocks; group++) {
            int b = group >> 2, g = group & 3;
            int c = 16 * b + 2 * g, o = 64 * group;
            long block = w0 + (long) b * BLOCK_BYTES;
            if (g == 0) {
                long next = block + aheadBytes;
                touched += RowPrefetch.touch(s, next) + RowPrefetch.touch(s, next + 64) + RowPrefetch.touch(s, next + 128)
                        + RowPrefetch.touch(s, next + BLOCK_BYTES - 1);
            }
            IntVector v = IntVector.fromMemorySegment(I, s, block + 48 + 32L * g, LE);
            IntVector h = IntVector.fromMemorySegment(I, s, block + 16, LE).lanewise(LSHR, 2 * g);

            pl = ((FloatVector) v.and(0xF).or(h.lanewise(LSHL, 4).and(0x10)).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o));
            ph = ((FloatVector) v.and(0xF << 4).or(h.lanewise(LSHL, 7).and(0x10 << 4)).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 8));
            pl = ((FloatVector) v.and(0xF << 8).or(h.lanewise(LSHL, 4).and(0x10 << 8)).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 16), pl);
            ph = ((FloatVector) v.and(0xF << 12).or(h.lanewise(LSHL, 7).and(0x10 << 12)).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 24), ph);
            pl = ((FloatVector) v.and(0xF << 16).or(h.lanewise(LSHL, 4).and(0x10 << 16)).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 32), pl);
            ph = ((FloatVector) v.and(0xF << 20).or(h.lanewise(LSHL, 7).and(0x10 << 20)).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 40), ph);
            pl = ((FloatVector) v.and(0xF << 24).or(h.lanewise(LSHL, 4).and(0x10 << 24)).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 48), pl);
            ph = ((FloatVector) v.lanewise(LSHR, 28).or(h.lanewise(LSHR, 21).and(0x10)).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 56), ph);
            low = pl.fma(FloatVector.broadcast(F, sc[c]), low);
            high = ph.fma(FloatVector.broadcast(F, sc[c + 1]), high);
        }
        low.add(high).intoArray(lanes, 0);
        return touched;
    }

    /**
     * Four activation rows, each chunk converted once for all four: per group the low-nibble products of the
     * four rows, then the high ones ({@link #row}'s order for each row), the group's fifth bits shifted down
     * to its first pair once ({@code h}).
     */
    @Override
    public void rowTimesFour(MemorySegment s, long w0, int blocks, float[] sc, float[] xn, int x0, int x1, int x2,
                             int x3, float[] lanes) {
        FloatVector low0 = FloatVector.zero(F), low1 = low0, low2 = low0, low3 = low0;
        FloatVector high0 = low0, high1 = low0, high2 = low0, high3 = low0, q, p0, p1, p2, p3;
        for (int group = 0; group < 4 * blocks; group++) {
            int b = group >> 2, g = group & 3;
            int c = 16 * b + 2 * g, o = 64 * group;
            long block = w0 + (long) b * BLOCK_BYTES;
            IntVector v = IntVector.fromMemorySegment(I, s, block + 48 + 32L * g, LE);
            IntVector h = IntVector.fromMemorySegment(I, s, block + 16, LE).lanewise(LSHR, 2 * g);
            FloatVector d = FloatVector.broadcast(F, sc[c]);
            q = ((FloatVector) v.and(0xF).or(h.lanewise(LSHL, 4).and(0x10)).convert(I2F, 0));
            p0 = q.mul(FloatVector.fromArray(F, xn, x0 + o));
            p1 = q.mul(FloatVector.fromArray(F, xn, x1 + o));
            p2 = q.mul(FloatVector.fromArray(F, xn, x2 + o));
            p3 = q.mul(FloatVector.fromArray(F, xn, x3 + o));
            q = ((FloatVector) v.lanewise(LSHR, 8).and(0xF).or(h.lanewise(LSHR, 4).and(0x10)).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 16), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 16), p1);
            p2 = q.fma(FloatVector.fromArray(F, xn, x2 + o + 16), p2);
            p3 = q.fma(FloatVector.fromArray(F, xn, x3 + o + 16), p3);
            q = ((FloatVector) v.lanewise(LSHR, 16).and(0xF).or(h.lanewise(LSHR, 12).and(0x10)).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 32), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 32), p1);
            p2 = q.fma(FloatVector.fromArray(F, xn, x2 + o + 32), p2);
            p3 = q.fma(FloatVector.fromArray(F, xn, x3 + o + 32), p3);
            q = ((FloatVector) v.lanewise(LSHR, 24).and(0xF).or(h.lanewise(LSHR, 20).and(0x10)).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 48), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 48), p1);
            p2 = q.fma(FloatVector.fromArray(F, xn, x2 + o + 48), p2);
            p3 = q.fma(FloatVector.fromArray(F, xn, x3 + o + 48), p3);
            low0 = p0.fma(d, low0);
            low1 = p1.fma(d, low1);
            low2 = p2.fma(d, low2);
            low3 = p3.fma(d, low3);
            d = FloatVector.broadcast(F, sc[c + 1]);
            q = ((FloatVector) v.lanewise(LSHR, 4).and(0xF).or(h.lanewise(LSHL, 3).and(0x10)).convert(I2F, 0));
            p0 = q.mul(FloatVector.fromArray(F, xn, x0 + o + 8));
            p1 = q.mul(FloatVector.fromArray(F, xn, x1 + o + 8));
            p2 = q.mul(FloatVector.fromArray(F, xn, x2 + o + 8));
            p3 = q.mul(FloatVector.fromArray(F, xn, x3 + o + 8));
            q = ((FloatVector) v.lanewise(LSHR, 12).and(0xF).or(h.lanewise(LSHR, 5).and(0x10)).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 24), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 24), p1);
            p2 = q.fma(FloatVector.fromArray(F, xn, x2 + o + 24), p2);
            p3 = q.fma(FloatVector.fromArray(F, xn, x3 + o + 24), p3);
            q = ((FloatVector) v.lanewise(LSHR, 20).and(0xF).or(h.lanewise(LSHR, 13).and(0x10)).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 40), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 40), p1);
            p2 = q.fma(FloatVector.fromArray(F, xn, x2 + o + 40), p2);
            p3 = q.fma(FloatVector.fromArray(F, xn, x3 + o + 40), p3);
            q = ((FloatVector) v.lanewise(LSHR, 28).or(h.lanewise(LSHR, 21).and(0x10)).convert(I2F, 0));
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

    @Override
    public void rowTimesTwo(MemorySegment s, long w0, int blocks, float[] sc, float[] xn, int x0, int x1, float[] lanes) {
        FloatVector low0 = FloatVector.zero(F), low1 = low0, high0 = low0, high1 = low0, q, p0, p1;
        for (int group = 0; group < 4 * blocks; group++) {
            int b = group >> 2, g = group & 3;
            int c = 16 * b + 2 * g, o = 64 * group;
            long block = w0 + (long) b * BLOCK_BYTES;
            IntVector v = IntVector.fromMemorySegment(I, s, block + 48 + 32L * g, LE);
            IntVector h = IntVector.fromMemorySegment(I, s, block + 16, LE).lanewise(LSHR, 2 * g);
            FloatVector d = FloatVector.broadcast(F, sc[c]);
            q = ((FloatVector) v.and(0xF).or(h.lanewise(LSHL, 4).and(0x10)).convert(I2F, 0));
            p0 = q.mul(FloatVector.fromArray(F, xn, x0 + o));
            p1 = q.mul(FloatVector.fromArray(F, xn, x1 + o));
            q = ((FloatVector) v.lanewise(LSHR, 8).and(0xF).or(h.lanewise(LSHR, 4).and(0x10)).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 16), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 16), p1);
            q = ((FloatVector) v.lanewise(LSHR, 16).and(0xF).or(h.lanewise(LSHR, 12).and(0x10)).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 32), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 32), p1);
            q = ((FloatVector) v.lanewise(LSHR, 24).and(0xF).or(h.lanewise(LSHR, 20).and(0x10)).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 48), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 48), p1);
            low0 = p0.fma(d, low0);
            low1 = p1.fma(d, low1);
            d = FloatVector.broadcast(F, sc[c + 1]);
            q = ((FloatVector) v.lanewise(LSHR, 4).and(0xF).or(h.lanewise(LSHL, 3).and(0x10)).convert(I2F, 0));
            p0 = q.mul(FloatVector.fromArray(F, xn, x0 + o + 8));
            p1 = q.mul(FloatVector.fromArray(F, xn, x1 + o + 8));
            q = ((FloatVector) v.lanewise(LSHR, 12).and(0xF).or(h.lanewise(LSHR, 5).and(0x10)).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 24), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 24), p1);
            q = ((FloatVector) v.lanewise(LSHR, 20).and(0xF).or(h.lanewise(LSHR, 13).and(0x10)).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 40), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 40), p1);
            q = ((FloatVector) v.lanewise(LSHR, 28).or(h.lanewise(LSHR, 21).and(0x10)).convert(I2F, 0));
            p0 = q.fma(FloatVector.fromArray(F, xn, x0 + o + 56), p0);
            p1 = q.fma(FloatVector.fromArray(F, xn, x1 + o + 56), p1);
            high0 = p0.fma(d, high0);
            high1 = p1.fma(d, high1);
        }
        low0.add(high0).intoArray(lanes, 0);
        low1.add(high1).intoArray(lanes, 8);
    }
}
