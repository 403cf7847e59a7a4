package dev.pipeinfer.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ops against straightforward double-precision formulas. */
class OpsTest {
    final Random random = new Random(7);

    float[] gaussian(int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (random.nextGaussian() * std);
        return x;
    }

    static void near(double want, float got, double tolerance, String what) {
        assertTrue(Math.abs(want - got) <= tolerance, what + ": want " + want + " got " + got);
    }

    @Test
    void rmsNormDividesByRootMeanSquareAndScalesByWeight() {
        int n = 259;
        float[] x = gaussian(n + 3, 2), w = gaussian(n + 1, 1), out = new float[n + 2];
        Norms.rmsNorm(x, 3, w, 1, out, 2, n, 1e-5f);
        double ms = 0;
        for (int i = 0; i < n; i++) ms += (double) x[3 + i] * x[3 + i];
        double inv = 1 / Math.sqrt(ms / n + 1e-5);
        for (int i = 0; i < n; i++) near(x[3 + i] * inv * w[1 + i], out[2 + i], 1e-5 * Math.abs(w[1 + i]) * 4 + 1e-6, "rms " + i);
    }

    @Test
    void layerNormCentresScalesAndAddsBias() {
        int n = 200;
        float[] x = gaussian(n, 3), w = gaussian(n, 1), b = gaussian(n, 1), out = new float[n];
        for (int i = 0; i < n; i++) x[i] += 5; // a non-zero mean must be removed
        Norms.layerNorm(x, 0, w, 0, b, 0, out, 0, n, 1e-5f);
        double mean = 0, var = 0;
        for (float v : x) mean += v;
        mean /= n;
        for (float v : x) var += (v - mean) * (v - mean);
        var /= n;
        for (int i = 0; i < n; i++) near((x[i] - mean) / Math.sqrt(var + 1e-5) * w[i] + b[i], out[i], 1e-5, "ln " + i);
    }

    @Test
    void softmaxIsExpOverSumAndIgnoresTheRestOfTheArray() {
        float[] x = gaussian(40, 5);
        float[] before = x.clone();
        Softmax.softmax(x, 5, 30);
        double sum = 0;
        for (int i = 5; i < 35; i++) sum += Math.exp(before[i]);
        for (int i = 5; i < 35; i++) near(Math.exp(before[i]) / sum, x[i], 1e-6, "softmax " + i);
        for (int i = 0; i < 5; i++) assertEquals(before[i], x[i]);
        for (int i = 35; i < 40; i++) assertEquals(before[i], x[i]);
    }

    @Test
    void softmaxOfHugeLogitsDoesNotOverflow() {
        float[] x = {1000f, 1000f, -1000f};
        Softmax.softmax(x, 0, 3);
        near(0.5, x[0], 1e-7, "0");
        near(0.5, x[1], 1e-7, "1");
        near(0, x[2], 1e-7, "2");
    }

    static double angle(int pos, double scale, double base, int i, int nRot) {
        return pos * scale * Math.pow(base, -2.0 * i / nRot);
    }

    @Test
    void ropeNormalRotatesAdjacentPairs() {
        int heads = 3, hd = 32, nRot = 32, pos = 77;
        float[] x = gaussian(heads * hd, 1), y = x.clone();
        Rope.normal(y, 0, heads, hd, nRot, pos, 10000f, 1f);
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < nRot / 2; i++) {
                double t = angle(pos, 1, 10000, i, nRot);
                int a = h * hd + 2 * i, b = a + 1;
                near(x[a] * Math.cos(t) - x[b] * Math.sin(t), y[a], 2e-6, "h" + h + " pair " + i);
                near(x[a] * Math.sin(t) + x[b] * Math.cos(t), y[b], 2e-6, "h" + h + " pair " + i);
            }
        }
    }

    @Test
    void ropeNeoxRotatesHalvesWithBaseScalingAndPartialRotation() {
        int heads = 2, hd = 64, nRot = 48, pos = 1234;
        float base = 500000f, scale = 0.25f; // linear scaling by 4
        float[] x = gaussian(heads * hd, 1), y = x.clone();
        Rope.neox(y, 0, heads, hd, nRot, pos, base, scale);
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < nRot / 2; i++) {
                double t = angle(pos, scale, base, i, nRot);
                int a = h * hd + i, b = a + nRot / 2;
                near(x[a] * Math.cos(t) - x[b] * Math.sin(t), y[a], 2e-6, "h" + h + " pair " + i);
                near(x[a] * Math.sin(t) + x[b] * Math.cos(t), y[b], 2e-6, "h" + h + " pair " + i);
            }
            for (int d = nRot; d < hd; d++) assertEquals(x[h * hd + d], y[h * hd + d], "unrotated dim " + d);
        }
    }

    @Test
    void ropeBatchUsesEachRowsOwnPosition() {
        int heads = 2, hd = 16, stride = heads * hd + 5;
        int[] positions = {0, 9, 3};
        float[] x = gaussian(3 * stride, 1), batch = x.clone();
        Rope.normal(batch, 0, stride, positions, heads, hd, hd, 10000f, 1f);
        for (int r = 0; r < 3; r++) {
            float[] one = x.clone();
            Rope.normal(one, r * stride, heads, hd, hd, positions[r], 10000f, 1f);
            for (int i = 0; i < heads * hd; i++) assertEquals(one[r * stride + i], batch[r * stride + i]);
        }
        for (int i = 0; i < heads * hd; i++) assertEquals(x[i], batch[i], "position 0 is the identity");
    }

    @Test
    void siluAndSwiglu() {
        float[] g = gaussian(50, 4), u = gaussian(50, 1), out = new float[50];
        Activations.swiglu(g, 0, u, 0, out, 0, 50);
        for (int i = 0; i < 50; i++) {
            double silu = g[i] / (1 + Math.exp(-g[i]));
            near(silu * u[i], out[i], 1e-6 * (1 + Math.abs(silu * u[i])), "swiglu " + i);
        }
        Activations.silu(g, 0, out, 0, 50);
        for (int i = 0; i < 50; i++) near(g[i] / (1 + Math.exp(-g[i])), out[i], 1e-6 * (1 + Math.abs(g[i])), "silu " + i);
    }

    static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    @Test
    void geluFollowsTheTanhFormula() {
        float[] x = gaussian(200, 4), out = new float[200];
        Activations.gelu(x, 0, out, 0, 200);
        for (int i = 0; i < 200; i++) near(gelu(x[i]), out[i], 1e-6 * (1 + Math.abs(x[i])), "gelu " + i);
    }

    /**
     * ggml fills its table with the formula evaluated in float, where 1 + tanh(..) cancels for x below
     * about -4; the table must hold those float results (not the double ones) to match llama.cpp.
     */
    static float ggmlFloatGelu(float x) {
        return 0.5f * x * (1.0f + (float) Math.tanh(0.7978845608f * x * (1.0f + 0.044715f * x * x)));
    }

    @Test
    void fp16TableGeluIsTheFormulaAtTheFp16RoundedInputRoundedToFp16() {
        float[] x = gaussian(2000, 4), out = new float[2000];
        x[0] = -10f; x[1] = -10.5f; x[2] = 10f; x[3] = 12.25f; x[4] = 9.99f; x[5] = -9.99f; x[6] = 0f;
        Activations.geluFp16Table(x, 0, out, 0, x.length);
        assertEquals(0f, out[0]);
        assertEquals(0f, out[1]);
        assertEquals(10f, out[2]);
        assertEquals(12.25f, out[3]);
        for (int i = 4; i < x.length; i++) {
            if (x[i] <= -10 || x[i] >= 10) continue;
            float h = Float.float16ToFloat(Float.floatToFloat16(x[i]));
            float want = Float.float16ToFloat(Float.floatToFloat16(ggmlFloatGelu(h)));
            assertEquals(want, out[i], "x=" + x[i]);
        }
        // and it is a coarse approximation of the formula: within fp16 resolution
        for (int i = 4; i < x.length; i++) near(gelu(x[i]), out[i], 4e-3 * (1 + Math.abs(x[i])), "table vs formula " + x[i]);
    }

    @Test
    void addMulScaleWithOffsetsAndTails() {
        int n = 37;
        float[] a = gaussian(n + 2, 1), b = gaussian(n + 1, 1), out = new float[n + 3];
        Elementwise.add(a, 2, b, 1, out, 3, n);
        for (int i = 0; i < n; i++) assertEquals(a[2 + i] + b[1 + i], out[3 + i]);
        Elementwise.mul(a, 2, b, 1, out, 3, n);
        for (int i = 0; i < n; i++) assertEquals(a[2 + i] * b[1 + i], out[3 + i]);
        Elementwise.scale(a, 2, 0.5f, out, 3, n);
        for (int i = 0; i < n; i++) assertEquals(a[2 + i] * 0.5f, out[3 + i]);
        assertEquals(0f, out[0]);
    }
}
