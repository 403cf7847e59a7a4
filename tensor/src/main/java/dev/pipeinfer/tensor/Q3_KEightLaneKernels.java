package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.I;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * {@link Q3_KFormat}'s side of {@link QuarterScaledKernels} (256-bit vectors): a half super-block's 32 level
 * bytes and the super-block's 32 hmask bytes are read as eight ints each, and each 3-bit weight assembled in
 * its lane (quarter j: level bits 2j, 2j + 1 of its byte, hmask bit 4h + j moved to bit 2, minus 4).
 *
 * <p>Against the kernels it replaced (eight-byte loads widened separately, each chunk multiplied by its scale,
 * the sixteen scales of a super-block unpacked and multiplied in scalar code, the tiled path for batches),
 * JMH on the Zen 2 EPYC, calls/s: 5632x2048 n = 1 227-244 -> 334-344 on 1 thread, 478 -> 660 on 2, 2048x5632
 * 240 -> 339; 1 thread n = 2 140 -> 264, n = 4 124 -> 175, n = 8 99 -> 131, n = 16 69 -> 74, n = 64 22 -> 20.
 * The scale vectors are built as vectors: written out four floats at a time by scalar code they held n = 1
 * at 260.
 */
final class Q3_KEightLaneKernels implements QuarterScaledKernels.RowKernels {
    static final Q3_KEightLaneKernels INSTANCE = new Q3_KEightLaneKernels();
    private static final int QK = Q3_KFormat.QK;
    private static final int BLOCK_BYTES = Q3_KFormat.BLOCK_BYTES;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Q3_KEightLaneKernels() {}

    /** The scales from the sixteen 6-bit fields (unpacked as words in {@code scratch.blockScales}). */
    @Override
    public void scaleVectors(MemorySegment s, long row, int blocks, float[] sv, KernelScratch scratch) {
        int[] words = scratch.blockScales;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BLOCK_BYTES;
            float d = TensorFormat.fp16(s, block + 108);
            Q3_KFormat.unpackScaleWords(s, block + 96, words);
            QuarterScaledKernels.quarterVectors(scales(words, 0).mul(d), sv, 64 * b);
            QuarterScaledKernels.quarterVectors(scales(words, 2).mul(d), sv, 64 * b + 32);
        }
    }

    /** The eight scales in {@code words[at]} and {@code words[at + 1]} (a byte each, biased by 32), as floats. */
    private static FloatVector scales(int[] words, int at) {
        return (FloatVector) ((IntVector) IntVector.fromArray(IntVector.SPECIES_64, words, at).reinterpretAsBytes()
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0)).sub(32).convert(I2F, 0);
    }

    /** 2^-s for each of a half super-block's 16 chunks, read at bit s of its ints by {@link #row} (the top one still shifted down). */
    private static final float[] IN_PLACE = InPlaceWeights.scales(0, 8, 16, 24, 2, 10, 18, 26, 4, 12, 20, 28, 6, 14, 22, 0);

    /** {@link #row} reads its 3-bit weights in place ({@link InPlaceWeights}). */
    @Override
    public void rowActivations(float[] x, int xOffset, int k, float[] xn) {
        QuarterScaledKernels.laneOrder(x, xOffset, k, xn, 0);
        InPlaceWeights.scaleChunks(xn, k, IN_PLACE);
    }

    /**
     * One row against one activation row in lane order, the two accumulators' sum left at {@code lanes[0 .. 8)},
     * every cache line of the weights {@code aheadBytes} on touched. A loop step is a half super-block: quarter
     * j takes level bits 2j of its 32 bytes and hmask bit 4h + j ({@code h}: the hmask shifted by 4h).
     */
    @Override
    public int row(MemorySegment s, long w0, int blocks, float[] sv, float[] xn, float[] lanes, long aheadBytes) {
        FloatVector a = FloatVector.zero(F), c = a, p;
        int touched = 0;
        for (int half = 0; half < 2 * blocks; half++) {
            long block = w0 + (long) (half >> 1) * BLOCK_BYTES;
            int o = 128 * half, v = 32 * half;
            long next = block + 55L * (half & 1) + aheadBytes; // bytes 0, 54, 55, 109: every line of the block
            touched += RowPrefetch.touch(s, next) + RowPrefetch.touch(s, next + 54);
            IntVector qs = IntVector.fromMemorySegment(I, s, block + 32 + 32L * (half & 1), LE);
            IntVector h = IntVector.fromMemorySegment(I, s, block, LE).lanewise(LSHR, 4 * (half & 1));
            p = ((FloatVector) qs.and(3).or(h.lanewise(LSHL, 2).and(4)).sub(4).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o));
            p = ((FloatVector) qs.and(3 << 8).or(h.lanewise(LSHL, 2).and(4 << 8)).sub(4 << 8).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 8), p);
            p = ((FloatVector) qs.and(3 << 16).or(h.lanewise(LSHL, 2).and(4 << 16)).sub(4 << 16).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 16), p);
            p = ((FloatVector) qs.and(3 << 24).or(h.lanewise(LSHL, 2).and(4 << 24)).sub(4 << 24).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 24), p);
            a = p.fma(FloatVector.fromArray(F, sv, v), a);
            p = ((FloatVector) qs.and(3 << 2).or(h.lanewise(LSHL, 3).and(4 << 2)).sub(4 << 2).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 32));
            p = ((FloatVector) qs.and(3 << 10).or(h.lanewise(LSHL, 3).and(4 << 10)).sub(4 << 10).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 40), p);
            p = ((FloatVector) qs.and(3 << 18).or(h.lanewise(LSHL, 3).and(4 << 18)).sub(4 << 18).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 48), p);
            p = ((FloatVector) qs.and(3 << 26).or(h.lanewise(LSHL, 3).and(4 << 26)).sub(4 << 26).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 56), p);
            c = p.fma(FloatVector.fromArray(F, sv, v + 8), c);
            p = ((FloatVector) qs.and(3 << 4).or(h.lanewise(LSHL, 4).and(4 << 4)).sub(4 << 4).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 64));
            p = ((FloatVector) qs.and(3 << 12).or(h.lanewise(LSHL, 4).and(4 << 12)).sub(4 << 12).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 72), p);
            p = ((FloatVector) qs.and(3 << 20).or(h.lanewise(LSHL, 4).and(4 << 20)).sub(4 << 20).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 80), p);
            p = ((FloatVector) qs.and(3 << 28).or(h.lanewise(LSHL, 4).and(4 << 28)).sub(4 << 28).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 88), p);
            a = p.fma(FloatVector.fromArray(F, sv, v + 16), a);
            p = ((FloatVector) qs.and(3 << 6).or(h.lanewise(LSHL, 5).and(4 << 6)).sub(4 << 6).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 96));
            p = ((FloatVector) qs.and(3 << 14).or(h.lanewise(LSHL, 5).and(4 << 14)).sub(4 << 14).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 104), p);
            p = ((FloatVector) qs.and(3 << 22).or(h.lanewise(LSHL, 5).and(4 << 22)).sub(4 << 22).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 112), p);
            p = ((FloatVector) qs.lanewise(LSHR, 30).or(h.lanewise(LSHR, 25).and(4)).sub(4).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 120), p);
            c = p.fma(FloatVector.fromArray(F, sv, v + 24), c);
        }
        a.add(c).intoArray(lanes, 0);
        return touched;
    }

    /** One row's levels, {@code low2 + 4 bit - 4} as floats in lane order, into {@code decoded[0 .. k)}. */
    @Override
    public void decode(MemorySegment s, long w0, int blocks, float[] decoded) {
        for (int half = 0; half < 2 * blocks; half++) {
            long block = w0 + (long) (half >> 1) * BLOCK_BYTES;
            int o = 128 * half;
            IntVector qs = IntVector.fromMemorySegment(I, s, block + 32 + 32L * (half & 1), LE);
            IntVector h = IntVector.fromMemorySegment(I, s, block, LE).lanewise(LSHR, 4 * (half & 1));
            ((FloatVector) qs.and(3).or(h.lanewise(LSHL, 2).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o);
            ((FloatVector) qs.lanewise(LSHR, 8).and(3).or(h.lanewise(LSHR, 6).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 8);
            ((FloatVector) qs.lanewise(LSHR, 16).and(3).or(h.lanewise(LSHR, 14).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 16);
            ((FloatVector) qs.lanewise(LSHR, 24).and(3).or(h.lanewise(LSHR, 22).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 24);
            ((FloatVector) qs.lanewise(LSHR, 2).and(3).or(h.lanewise(LSHL, 1).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 32);
            ((FloatVector) qs.lanewise(LSHR, 10).and(3).or(h.lanewise(LSHR, 7).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 40);
            ((FloatVector) qs.lanewise(LSHR, 18).and(3).or(h.lanewise(LSHR, 15).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 48);
            ((FloatVector) qs.lanewise(LSHR, 26).and(3).or(h.lanewise(LSHR, 23).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 56);
            ((FloatVector) qs.lanewise(LSHR, 4).and(3).or(h.and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 64);
            ((FloatVector) qs.lanewise(LSHR, 12).and(3).or(h.lanewise(LSHR, 8).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 72);
            ((FloatVector) qs.lanewise(LSHR, 20).and(3).or(h.lanewise(LSHR, 16).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 80);
            ((FloatVector) qs.lanewise(LSHR, 28).and(3).or(h.lanewise(LSHR, 24).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 88);
            ((FloatVector) qs.lanewise(LSHR, 6).and(3).or(h.lanewise(LSHR, 1).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 96);
            ((FloatVector) qs.lanewise(LSHR, 14).and(3).or(h.lanewise(LSHR, 9).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 104);
            ((FloatVector) qs.lanewise(LSHR, 22).and(3).or(h.lanewise(LSHR, 17).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 112);
            ((FloatVector) qs.lanewise(LSHR, 30).or(h.lanewise(LSHR, 25).and(4)).sub(4).convert(I2F, 0)).intoArray(decoded, o + 120);
        }
    }
}
