package dev.pipeinfer.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.I;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * {@link Q6_KFormat}'s side of {@link QuarterScaledKernels} (256-bit vectors): a half super-block's 64 ql and 32
 * qh bytes are read as three vectors of eight ints, and each 6-bit weight assembled in its int lane by shifts
 * and masks.
 *
 * <p>Against the kernels it replaced (each chunk's eight bytes loaded and widened separately, each chunk
 * multiplied by its scale, the tiled path from n = 9), JMH on the Zen 2 EPYC, calls/s: 5632x2048 n = 1 299 ->
 * 381 on 1 thread, 586 -> 763 on 2; 32000x2048 51 -> 69 and 2048x5632 285 -> 356 on 1; 1 thread 5632x2048
 * n = 2 186 -> 245, n = 4 180 -> 172, n = 6 100 -> 133, n = 8 99 -> 113, n = 16 64 -> 72, n = 64 22 -> 19
 * (where the tiled path's four-by-four register tiles did better). Touching the weights
 * {@link RowPrefetch#AHEAD_ROWS} rows on: n = 1 389 -> 408-413 on 1 thread, 2048x5632 354-359 -> 412-423.
 */
final class Q6_KEightLaneKernels implements QuarterScaledKernels.RowKernels {
    static final Q6_KEightLaneKernels INSTANCE = new Q6_KEightLaneKernels();
    private static final int QK = Q6_KFormat.QK;
    private static final int BLOCK_BYTES = Q6_KFormat.BLOCK_BYTES;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Q6_KEightLaneKernels() {}

    /** 2^-s for each of a half super-block's 16 chunks, read at bit s of its ints by {@link #row} (the top nibbles still shifted down). */
    private static final float[] IN_PLACE = InPlaceWeights.scales(0, 8, 16, 24, 0, 8, 16, 24, 4, 12, 20, 0, 4, 12, 20, 0);

    /** {@link #row} reads its 6-bit weights in place ({@link InPlaceWeights}). */
    @Override
    public void rowActivations(float[] x, int xOffset, int k, float[] xn) {
        QuarterScaledKernels.laneOrder(x, xOffset, k, xn, 0);
        InPlaceWeights.scaleChunks(xn, k, IN_PLACE);
    }

    @Override
    public void scaleVectors(MemorySegment s, long row, int blocks, float[] sv, KernelScratch scratch) {
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BLOCK_BYTES;
            float d = TensorFormat.fp16(s, block + 208);
            QuarterScaledKernels.quarterVectors(scales(s, block + 192).mul(d), sv, 64 * b);
            QuarterScaledKernels.quarterVectors(scales(s, block + 200).mul(d), sv, 64 * b + 32);
        }
    }

    /** Eight signed scale bytes at {@code at}, as floats. */
    private static FloatVector scales(MemorySegment s, long at) {
        return (FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, s, at, LE)
                .convertShape(VectorOperators.B2I, I, 0).convert(I2F, 0);
    }

    /**
     * One row against one activation row in lane order, the two accumulators' sum left at {@code lanes[0 .. 8)}.
     * A loop step is a half super-block: its ql bytes 0-31 (qa) and 32-63 (qb) and its 32 qh bytes as ints,
     * quarter q from qa (q even) or qb, low nibbles for q < 2, high ones after, with qh bits 2q, 2q + 1 of each
     * byte as bits 4 and 5.
     */
    @Override
    public int row(MemorySegment s, long w0, int blocks, float[] sv, float[] xn, float[] lanes, long aheadBytes) {
        FloatVector a = FloatVector.zero(F), c = a, p;
        int touched = 0;
        for (int half = 0; half < 2 * blocks; half++) {
            long ql = w0 + (long) (half >> 1) * BLOCK_BYTES + 64L * (half & 1);
            long hb = w0 + (long) (half >> 1) * BLOCK_BYTES + 128 + 32L * (half & 1);
            touched += RowPrefetch.touch(s, ql + aheadBytes) + RowPrefetch.touch(s, hb + aheadBytes);
            int o = 128 * half, v = 32 * half;
            IntVector qa = IntVector.fromMemorySegment(I, s, ql, LE), qb = IntVector.fromMemorySegment(I, s, ql + 32, LE);
            IntVector qh = IntVector.fromMemorySegment(I, s, hb, LE);
            p = ((FloatVector) qa.and(0xF).or(qh.lanewise(LSHL, 4).and(0x30)).sub(32).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o));
            p = ((FloatVector) qa.and(0xF << 8).or(qh.lanewise(LSHL, 4).and(0x30 << 8)).sub(32 << 8).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 8), p);
            p = ((FloatVector) qa.and(0xF << 16).or(qh.lanewise(LSHL, 4).and(0x30 << 16)).sub(32 << 16).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 16), p);
            p = ((FloatVector) qa.and(0xF << 24).or(qh.lanewise(LSHL, 4).and(0x30 << 24)).sub(32 << 24).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 24), p);
            a = p.fma(FloatVector.fromArray(F, sv, v), a);
            p = ((FloatVector) qb.and(0xF).or(qh.lanewise(LSHL, 2).and(0x30)).sub(32).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 32));
            p = ((FloatVector) qb.and(0xF << 8).or(qh.lanewise(LSHL, 2).and(0x30 << 8)).sub(32 << 8).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 40), p);
            p = ((FloatVector) qb.and(0xF << 16).or(qh.lanewise(LSHL, 2).and(0x30 << 16)).sub(32 << 16).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 48), p);
            p = ((FloatVector) qb.and(0xF << 24).or(qh.lanewise(LSHL, 2).and(0x30 << 24)).sub(32 << 24).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 56), p);
            c = p.fma(FloatVector.fromArray(F, sv, v + 8), c);
            p = ((FloatVector) qa.and(0xF << 4).or(qh.lanewise(LSHL, 4).and(0x30 << 4)).sub(32 << 4).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 64));
            p = ((FloatVector) qa.and(0xF << 12).or(qh.lanewise(LSHL, 4).and(0x30 << 12)).sub(32 << 12).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 72), p);
            p = ((FloatVector) qa.and(0xF << 20).or(qh.lanewise(LSHL, 4).and(0x30 << 20)).sub(32 << 20).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 80), p);
            p = ((FloatVector) qa.lanewise(LSHR, 28).or(qh.lanewise(LSHR, 24).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 88), p);
            a = p.fma(FloatVector.fromArray(F, sv, v + 16), a);
            p = ((FloatVector) qb.and(0xF << 4).or(qh.lanewise(LSHL, 2).and(0x30 << 4)).sub(32 << 4).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 96));
            p = ((FloatVector) qb.and(0xF << 12).or(qh.lanewise(LSHL, 2).and(0x30 << 12)).sub(32 << 12).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 104), p);
            p = ((FloatVector) qb.and(0xF << 20).or(qh.lanewise(LSHL, 2).and(0x30 << 20)).sub(32 << 20).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 112), p);
            p = ((FloatVector) qb.lanewise(LSHR, 28).or(qh.lanewise(LSHR, 26).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 120), p);
            c = p.fma(FloatVector.fromArray(F, sv, v + 24), c);
        }
        a.add(c).intoArray(lanes, 0);
        return touched;
    }

    /** One row's weights, {@code q - 32} as floats in lane order, into {@code decoded[0 .. k)}. */
    @Override
    public void decode(MemorySegment s, long w0, int blocks, float[] decoded) {
        for (int half = 0; half < 2 * blocks; half++) {
            long ql = w0 + (long) (half >> 1) * BLOCK_BYTES + 64L * (half & 1);
            long hb = w0 + (long) (half >> 1) * BLOCK_BYTES + 128 + 32L * (half & 1);
            int o = 128 * half;
            IntVector qa = IntVector.fromMemorySegment(I, s, ql, LE), qb = IntVector.fromMemorySegment(I, s, ql + 32, LE);
            IntVector qh = IntVector.fromMemorySegment(I, s, hb, LE);
            ((FloatVector) qa.and(0xF).or(qh.lanewise(LSHL, 4).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o);
            ((FloatVector) qa.lanewise(LSHR, 8).and(0xF).or(qh.lanewise(LSHR, 4).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 8);
            ((FloatVector) qa.lanewise(LSHR, 16).and(0xF).or(qh.lanewise(LSHR, 12).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 16);
            ((FloatVector) qa.lanewise(LSHR, 24).and(0xF).or(qh.lanewise(LSHR, 20).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 24);
            ((FloatVector) qb.and(0xF).or(qh.lanewise(LSHL, 2).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 32);
            ((FloatVector) qb.lanewise(LSHR, 8).and(0xF).or(qh.lanewise(LSHR, 6).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 40);
            ((FloatVector) qb.lanewise(LSHR, 16).and(0xF).or(qh.lanewise(LSHR, 14).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 48);
            ((FloatVector) qb.lanewise(LSHR, 24).and(0xF).or(qh.lanewise(LSHR, 22).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 56);
            ((FloatVector) qa.lanewise(LSHR, 4).and(0xF).or(qh.and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 64);
            ((FloatVector) qa.lanewise(LSHR, 12).and(0xF).or(qh.lanewise(LSHR, 8).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 72);
            ((FloatVector) qa.lanewise(LSHR, 20).and(0xF).or(qh.lanewise(LSHR, 16).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 80);
            ((FloatVector) qa.lanewise(LSHR, 28).or(qh.lanewise(LSHR, 24).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 88);
            ((FloatVector) qb.lanewise(LSHR, 4).and(0xF).or(qh.lanewise(LSHR, 2).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 96);
            ((FloatVector) qb.lanewise(LSHR, 12).and(0xF).or(qh.lanewise(LSHR, 10).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 104);
            ((FloatVector) qb.lanewise(LSHR, 20).and(0xF).or(qh.lanewise(LSHR, 18).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 112);
            ((FloatVector) qb.lanewise(LSHR, 28).or(qh.lanewise(LSHR, 26).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 120);
        }
    }

}
