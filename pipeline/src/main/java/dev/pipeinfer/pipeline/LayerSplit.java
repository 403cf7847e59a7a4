package dev.pipeinfer.pipeline;

import java.util.Arrays;

/**
 * How a model's layers are divided into contiguous slices, one per stage (DESIGN §4), as the N+1 bounds
 * {@code [0, b1, ..., n_layers]}: stage i serves layers {@code [bounds[i], bounds[i+1])}.
 */
public final class LayerSplit {
    private LayerSplit() {}

    /**
     * As even as possible; earlier stages take the remainder (stage 0 also embeds, the last also has the
     * head). With more stages than layers some stages get none and only embed, pass activations on, or
     * apply the output head: pointless for speed, but it keeps every stage count valid for testing.
     */
    public static int[] even(int layers, int stages) {
        check(layers, stages);
        int[] bounds = new int[stages + 1];
        for (int i = 1; i <= stages; i++) bounds[i] = bounds[i - 1] + layers / stages + (i - 1 < layers % stages ? 1 : 0);
        return bounds;
    }

    /**
     * From {@code --split}: layer counts ("11,11") that add up to the model's layers, or fractions
     * ("0.6,0.4") that are scaled to it; null or empty means {@link #even}.
     */
    public static int[] parse(String spec, int layers, int stages) {
        if (spec == null || spec.isBlank()) return even(layers, stages);
        check(layers, stages);
        String[] parts = spec.split(",");
        if (parts.length != stages) {
            throw new IllegalArgumentException("--split '" + spec + "' has " + parts.length + " parts for " + stages + " stages");
        }
        double[] weights = new double[stages];
        boolean counts = true;
        for (int i = 0; i < stages; i++) {
            String p = parts[i].strip();
            try {
                weights[i] = Double.parseDouble(p);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--split '" + spec + "': '" + p + "' is not a number");
            }
            if (!(weights[i] >= 0)) throw new IllegalArgumentException("--split '" + spec + "': parts must not be negative");
            counts &= !p.contains(".");
        }
        int[] bounds = new int[stages + 1];
        if (counts) {
            for (int i = 0; i < stages; i++) bounds[i + 1] = bounds[i] + (int) weights[i];
            if (bounds[stages] != layers) {
                throw new IllegalArgumentException("--split '" + spec + "' assigns " + bounds[stages] + " layers; the model has " + layers);
            }
            return bounds;
        }
        double total = Arrays.stream(weights).sum();
        double acc = 0;
        for (int i = 0; i < stages; i++) {
            acc += weights[i];
            bounds[i + 1] = i == stages - 1 ? layers : (int) Math.round(acc / total * layers);
        }
        if (total <= 0) throw new IllegalArgumentException("--split '" + spec + "': the fractions add up to 0");
        return bounds;
    }

    private static void check(int layers, int stages) {
        if (stages < 1) throw new IllegalArgumentException("need at least one stage");
    }
}
