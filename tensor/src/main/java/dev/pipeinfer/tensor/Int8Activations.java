package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Activation rows quantized to ggml's Q8_0 the way llama.cpp does it before a Q4_0, Q5_0 or Q8_0 matmul
 * (its {@code vec_dot_type}): per block of 32 values, {@code amax} = the largest |x|, the scale
 * {@code d = amax / 127} rounded to fp16, and {@code q = round_half_even(x * (127 / amax))}.
 *
 * <p>The quants are kept widened to 16 bits: the kernels multiply them as 16-bit lanes, and loading them
 * that way saves a widening per block in the inner loop. Buffers grow on demand and are reused, so a decode
 * step allocates nothing.
 */
final class Int8Activations {
    static final int QK = 32;

    /** Row j's quants at {@code quants[j * k ..]}. */
    short[] quants = new short[0];
    /** Row j's block scales (fp16-rounded d, as float) at {@code scales[j * k / 32 ..]}. */
    float[] scales = new float[0];
    /**
     * Each block scale repeated in eight lanes ({@code scaleLanes[8 b ..]}), so that a kernel multiplies it
     * into the weight's broadcast scale straight from memory instead of broadcasting it per block and row.
     */
    float[] scaleLanes = new float[0];
    /**
     * Per block, 16 shorts for Q4_0's unsigned nibbles ({@link Q4_0Int8Kernels}): {@code 8 (q[i] + q[16 + i])
     * - 2^15}, what lane i of the nibbles' products loses by the nibbles' offset of 8, less the bias that
     * {@link Int8Matmul#biasedPairSums} expects.
     */
    short[] nibbleOffsets = new short[0];

    /**
     * Quantizes n rows of k floats (k a multiple of 32) from {@code x[xOffset..]}, replacing what was here: with
     * 256-bit vectors ({@link #quantizeBlockVectors}), else as {@link #quantizeScalar}; the same values either way.
     */
    void quantize(float[] x, int xOffset, int n, int k) {
        if (!Int8Matmul.VECTORS) {
            quantizeScalar(x, xOffset, n, k);
            return;
        }
        makeRoom(n, k);
        for (int b = 0; b < n * k / QK; b++) quantizeBlockVectors(x, xOffset + b * QK, b);
        nibbleOffsetVectors(n * k / QK);
    }

    /** The scalar reference of {@link #quantize}, as llama.cpp's {@code quantize_row_q8_0_ref}. */
    void quantizeScalar(float[] x, int xOffset, int n, int k) {
        makeRoom(n, k);
        for (int b = 0; b < n * k / QK; b++) quantizeBlock(x, xOffset + b * QK, b);
    }

    private void makeRoom(int n, int k) {
        if (k % QK != 0) throw new IllegalArgumentException("row length " + k + " is not a multiple of " + QK);
        if (quants.length < n * k) quants = new short[n * k];
        if (scales.length < n * k / QK) {
            scales = new float[n * k / QK];
            scaleLanes = new float[n * k / QK * 8];
            nibbleOffsets = new short[n * k / QK * 16];
        }
    }

    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Short> S8 = ShortVector.SPECIES_128, S16 = ShortVector.SPECIES_256;
    /**
     * Added and subtracted again, rounds a float of magnitude below 2^22 to an integer, half to even (the sum
     * lies in [2^23, 2^24), whose floats are the integers): Math.rint for the products here, which stay
     * within 127 (1 + 2^-23), and it keeps NaN and the infinities, which the conversion to int then turns
     * into what the scalar code's casts give.
     */
    private static final float ROUND_TO_INTEGER = 0x1.8p23f;

    /**
     * {@link #quantizeBlock} in four vectors of eight: the same largest magnitude (a maximum is exact in any
     * order), the same scale and reciprocal, the same float products, rounded half to even, and the same
     * integers. It runs on the calling thread while the pool waits for the matmul it feeds: 2048 values took
     * 3.4 us scalar, 1.34 us so (Zen 2); a 1.1B Q4_0 model's prompt of 64 on 2 threads 36.5-38.0 -> 38.3-40.4
     * tokens/s, decode on 1 thread 12.30-12.41 -> 12.40-12.73 (three interleaved rounds). The nibble offsets
     * are computed after all blocks from the stored quants ({@link #nibbleOffsetVectors}): computed here from
     * the block's int vectors, which then had two uses each, C2 boxed them (224 bytes a block, 2.8 us).
     */
    private void quantizeBlockVectors(float[] x, int at, int b) {
        FloatVector v0 = FloatVector.fromArray(F8, x, at), v1 = FloatVector.fromArray(F8, x, at + 8);
        FloatVector v2 = FloatVector.fromArray(F8, x, at + 16), v3 = FloatVector.fromArray(F8, x, at + 24);
        float amax = v0.abs().max(v1.abs()).max(v2.abs().max(v3.abs())).reduceLanes(VectorOperators.MAX);
        float d = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
        scales[b] = d;
        FloatVector.broadcast(F8, d).intoArray(scaleLanes, 8 * b);
        float id = amax != 0 ? 127f / amax : 0f;
        shorts(rounded(v0, id)).intoArray(quants, QK * b);
        shorts(rounded(v1, id)).intoArray(quants, QK * b + 8);
        shorts(rounded(v2, id)).intoArray(quants, QK * b + 16);
        shorts(rounded(v3, id)).intoArray(quants, QK * b + 24);
    }

    /** {@link #nibbleOffsets} of blocks [0, blocks) from their quants, as {@link #quantizeBlock} computes them. */
    private void nibbleOffsetVectors(int blocks) {
        for (int b = 0; b < blocks; b++) {
            ShortVector low = ShortVector.fromArray(S16, quants, QK * b), high = ShortVector.fromArray(S16, quants, QK * b + 16);
            low.add(high).lanewise(VectorOperators.LSHL, 3).sub((short) (1 << 15)).intoArray(nibbleOffsets, 16 * b);
        }
    }

    private static IntVector rounded(FloatVector v, float id) {
        return (IntVector) v.mul(id).add(ROUND_TO_INTEGER).sub(ROUND_TO_INTEGER).convert(VectorOperators.F2I, 0);
    }

    /** The low 16 bits of each int, as the scalar code's {@code (short)} casts keep them. */
    private static ShortVector shorts(IntVector v) {
        return (ShortVector) v.convertShape(VectorOperators.I2S, S8, 0);
    }

    private void quantizeBlock(float[] x, int at, int b) {
        float amax = 0;
        for (int i = 0; i < QK; i++) amax = Math.max(amax, Math.abs(x[at + i]));
        scales[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
        float id = amax != 0 ? 127f / amax : 0f;
        for (int i = 0; i < QK; i++) quants[b * QK + i] = (short) Math.rint(x[at + i] * id);
        for (int lane = 0; lane < 8; lane++) scaleLanes[b * 8 + lane] = scales[b];
        for (int i = 0; i < 16; i++) {
            nibbleOffsets[b * 16 + i] = (short) (8 * (quants[b * QK + i] + quants[b * QK + 16 + i]) - (1 << 15));
        }
    }
}
