package dev.pipeinfer.tensor;

/**
 * Rotary position embedding on heads laid out one after another ({@code nHeads} x {@code headDim} floats).
 * Pair i (0 <= i < nRot/2) of a head is turned by the angle {@code pos * freqScale * freqBase^(-2i/nRot)}
 * (linear scaling: freqScale = 1/factor). Dimensions from nRot to headDim are left alone.
 * <ul>
 *   <li>{@link #normal}: ggml's mode 0 (GPT-J style, Llama): pairs are adjacent, (2i, 2i+1).</li>
 *   <li>{@link #neox}: ggml's NEOX mode (Falcon): pair i is (i, i + nRot/2).</li>
 * </ul>
 * Angles and their sine/cosine are computed in double and rounded once to float. The batch variants take
 * one position per row (token).
 */
public final class Rope {
    private Rope() {}

    public static void normal(float[] x, int offset, int nHeads, int headDim, int nRot, int pos, float freqBase, float freqScale) {
        rotate(x, offset, nHeads, headDim, nRot, pos, freqBase, freqScale, false);
    }

    public static void neox(float[] x, int offset, int nHeads, int headDim, int nRot, int pos, float freqBase, float freqScale) {
        rotate(x, offset, nHeads, headDim, nRot, pos, freqBase, freqScale, true);
    }

    /** Rows r = 0..positions.length-1 start at offset + r*rowStride; row r is at position positions[r]. */
    public static void normal(float[] x, int offset, int rowStride, int[] positions, int nHeads, int headDim, int nRot,
                              float freqBase, float freqScale) {
        for (int r = 0; r < positions.length; r++) {
            rotate(x, offset + r * rowStride, nHeads, headDim, nRot, positions[r], freqBase, freqScale, false);
        }
    }

    public static void neox(float[] x, int offset, int rowStride, int[] positions, int nHeads, int headDim, int nRot,
                            float freqBase, float freqScale) {
        for (int r = 0; r < positions.length; r++) {
            rotate(x, offset + r * rowStride, nHeads, headDim, nRot, positions[r], freqBase, freqScale, true);
        }
    }

    private static void rotate(float[] x, int offset, int nHeads, int headDim, int nRot, int pos, float freqBase,
                               float freqScale, boolean neox) {
        if (nRot % 2 != 0 || nRot > headDim) throw new IllegalArgumentException("nRot " + nRot + " must be even and <= headDim " + headDim);
        int half = nRot / 2;
        for (int i = 0; i < half; i++) {
            double theta = (double) pos * freqScale * Math.pow(freqBase, -2.0 * i / nRot);
            float cos = (float) Math.cos(theta), sin = (float) Math.sin(theta);
            int a = neox ? i : 2 * i;
            int b = neox ? i + half : 2 * i + 1;
            for (int h = 0; h < nHeads; h++) {
                int base = offset + h * headDim;
                float x0 = x[base + a], x1 = x[base + b];
                x[base + a] = x0 * cos - x1 * sin;
                x[base + b] = x0 * sin + x1 * cos;
            }
        }
    }
}
