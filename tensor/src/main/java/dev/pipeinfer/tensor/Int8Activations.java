package dev.pipeinfer.tensor;

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

    /** Quantizes n rows of k floats (k a multiple of 32) from {@code x[xOffset..]}, replacing what was here. */
    void quantize(float[] x, int xOffset, int n, int k) {
        if (k % QK != 0) throw new IllegalArgumentException("row length " + k + " is not a multiple of " + QK);
        if (quants.length < n * k) quants = new short[n * k];
        if (scales.length < n * k / QK) {
            scales = new float[n * k / QK];
            scaleLanes = new float[n * k / QK * 8];
            nibbleOffsets = new short[n * k / QK * 16];
        }
        for (int b = 0; b < n * k / QK; b++) quantizeBlock(x, xOffset + b * QK, b);
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
