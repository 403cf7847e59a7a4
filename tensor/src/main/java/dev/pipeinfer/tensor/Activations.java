package dev.pipeinfer.tensor;

/**
 * The activations of Llama (SiLU, SwiGLU) and Falcon (GELU, tanh form). {@code out} may alias the input.
 *
 * <p>GELU has two flavours: {@link #gelu} evaluates the tanh formula; {@link #geluFp16Table} reproduces
 * llama.cpp's CPU backend, which looks the result up in a table indexed by the input rounded to fp16 (the
 * table holds fp16(gelu(h)) for every fp16 value h) for -10 < x < 10, and returns 0 below and x above. The
 * two differ by up to about 1e-3 per element; match the reference you compare against.
 */
public final class Activations {
    private Activations() {}

    private static final float SQRT_2_OVER_PI = 0.79788456080286535587989211986876f;
    private static final float GELU_COEF_A = 0.044715f;

    /** fp16 bits of gelu(fp16 value) for every fp16 bit pattern: llama.cpp's ggml_table_gelu_f16. */
    private static final short[] GELU_FP16 = new short[1 << 16];

    static {
        for (int h = 0; h < GELU_FP16.length; h++) {
            GELU_FP16[h] = Float.floatToFloat16(geluTanh(Float.float16ToFloat((short) h)));
        }
    }

    public static float silu(float x) {
        return (float) (x / (1.0 + Math.exp(-x)));
    }

    /** ggml's gelu in float: 0.5x(1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))). */
    public static float geluTanh(float x) {
        return 0.5f * x * (1.0f + (float) Math.tanh(SQRT_2_OVER_PI * x * (1.0f + GELU_COEF_A * x * x)));
    }

    /** llama.cpp's table GELU for one value. */
    public static float geluFp16(float x) {
        if (x <= -10.0f) return 0.0f;
        if (x >= 10.0f) return x;
        return Float.float16ToFloat(GELU_FP16[Float.floatToFloat16(x) & 0xFFFF]);
    }

    public static void silu(float[] x, int xOffset, float[] out, int outOffset, int size) {
        for (int i = 0; i < size; i++) out[outOffset + i] = silu(x[xOffset + i]);
    }

    /** out = silu(gate) * up (Llama's feed-forward gate). */
    public static void swiglu(float[] gate, int gateOffset, float[] up, int upOffset, float[] out, int outOffset, int size) {
        for (int i = 0; i < size; i++) out[outOffset + i] = silu(gate[gateOffset + i]) * up[upOffset + i];
    }

    public static void gelu(float[] x, int xOffset, float[] out, int outOffset, int size) {
        for (int i = 0; i < size; i++) out[outOffset + i] = geluTanh(x[xOffset + i]);
    }

    public static void geluFp16Table(float[] x, int xOffset, float[] out, int outOffset, int size) {
        for (int i = 0; i < size; i++) out[outOffset + i] = geluFp16(x[xOffset + i]);
    }
}
