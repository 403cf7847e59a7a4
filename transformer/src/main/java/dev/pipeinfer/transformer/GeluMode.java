package dev.pipeinfer.transformer;

/** How Falcon's MLP evaluates GELU (tanh approximation). */
public enum GeluMode {
    /** {@code 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3)))} in float: matches a float64 reference to rounding. */
    EXACT,
    /**
     * ggml's CPU backend: a lookup through a 65536-entry fp16 table for -10 < x < 10 (0 below, x above).
     * Matches llama.cpp's logits; differs from the formula by up to ~2e-3 in the logits.
     */
    GGML_FP16_TABLE
}
