package dev.pipeinfer.tensor;

/** Softmax over a range, in place: subtract the max, exponentiate, divide by the (double) sum. */
public final class Softmax {
    private Softmax() {}

    public static void softmax(float[] x, int offset, int size) {
        if (size <= 0) return;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < size; i++) max = Math.max(max, x[offset + i]);
        double sum = 0;
        for (int i = 0; i < size; i++) {
            float e = (float) Math.exp(x[offset + i] - max);
            x[offset + i] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < size; i++) x[offset + i] *= inv;
    }
}
