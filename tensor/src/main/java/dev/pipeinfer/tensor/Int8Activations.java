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

    /** Quantizes n rows of k floats (k a multiple of 32) from {@code x[xOffset..]}, replacing what was here. */
    void quantize(float[] x, int xOffset, int n, int k) {
        if (k % QK != 0) throw new IllegalArgumentException("row length " + k + " is not a multiple of " + QK);
        if (quants.length < n * k) quants = new short[n * k];
        if (scales.length < n * k / QK) scales = new float[n * k / QK];
        for (int b = 0; b < n * k / QK; b++) quantizeBlock(x, xOffset + b * QK, b);
    }

    private void quantizeBlock(float[] x, int at, int b) {
        float amax = 0;
        for (int i = 0; i < QK; i++) amax = Math.max(amax, Math.abs(x[at + i]));
        scales[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
        float id = amax != 0 ? 127f / amax : 0f;
        for (int i = 0; i < QK; i++) quants[b * QK + i] = (short) Math.rint(x[at + i] * id);
    }
}
