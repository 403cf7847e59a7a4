package dev.pipeinfer.tensor;

/**
 * The normalizations of Llama (RMSNorm) and Falcon (LayerNorm with bias), as ggml computes them: sums in
 * double, the scale {@code 1/sqrt(...)} rounded to float, then one float multiply per element.
 * {@code out} may be the same array range as {@code x}.
 */
public final class Norms {
    private Norms() {}

    /** out = x / sqrt(mean(x^2) + eps) * weight. */
    public static void rmsNorm(float[] x, int xOffset, float[] weight, int weightOffset, float[] out, int outOffset,
                               int size, float eps) {
        double sum = 0;
        for (int i = 0; i < size; i++) {
            float v = x[xOffset + i];
            sum += (double) v * v;
        }
        float scale = 1.0f / (float) Math.sqrt((float) (sum / size) + eps);
        for (int i = 0; i < size; i++) out[outOffset + i] = x[xOffset + i] * scale * weight[weightOffset + i];
    }

    /** out = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance. */
    public static void layerNorm(float[] x, int xOffset, float[] weight, int weightOffset, float[] bias, int biasOffset,
                                 float[] out, int outOffset, int size, float eps) {
        double sum = 0;
        for (int i = 0; i < size; i++) sum += x[xOffset + i];
        float mean = (float) (sum / size);
        double sumSq = 0;
        for (int i = 0; i < size; i++) {
            float d = x[xOffset + i] - mean;
            sumSq += (double) d * d;
        }
        float scale = 1.0f / (float) Math.sqrt((float) (sumSq / size) + eps);
        for (int i = 0; i < size; i++) {
            out[outOffset + i] = (x[xOffset + i] - mean) * scale * weight[weightOffset + i] + bias[biasOffset + i];
        }
    }
}
