package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;

import static dev.pipeinfer.tensor.Lanes.F;

/** Element-wise add and multiply of float ranges (residual adds, norm weights), vectorized. Outputs may alias inputs. */
public final class Elementwise {
    private Elementwise() {}

    /** out = a + b. */
    public static void add(float[] a, int aOffset, float[] b, int bOffset, float[] out, int outOffset, int size) {
        int i = 0;
        for (int bound = F.loopBound(size); i < bound; i += F.length()) {
            FloatVector.fromArray(F, a, aOffset + i).add(FloatVector.fromArray(F, b, bOffset + i)).intoArray(out, outOffset + i);
        }
        for (; i < size; i++) out[outOffset + i] = a[aOffset + i] + b[bOffset + i];
    }

    /** out = a * b. */
    public static void mul(float[] a, int aOffset, float[] b, int bOffset, float[] out, int outOffset, int size) {
        int i = 0;
        for (int bound = F.loopBound(size); i < bound; i += F.length()) {
            FloatVector.fromArray(F, a, aOffset + i).mul(FloatVector.fromArray(F, b, bOffset + i)).intoArray(out, outOffset + i);
        }
        for (; i < size; i++) out[outOffset + i] = a[aOffset + i] * b[bOffset + i];
    }

    /** out = a * s. */
    public static void scale(float[] a, int aOffset, float s, float[] out, int outOffset, int size) {
        int i = 0;
        for (int bound = F.loopBound(size); i < bound; i += F.length()) {
            FloatVector.fromArray(F, a, aOffset + i).mul(s).intoArray(out, outOffset + i);
        }
        for (; i < size; i++) out[outOffset + i] = a[aOffset + i] * s;
    }
}
