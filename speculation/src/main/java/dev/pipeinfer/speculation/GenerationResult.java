package dev.pipeinfer.speculation;

/** The generated tokens (without the prompt and without a final end-of-generation token), and how it went. */
public record GenerationResult(int[] tokens, StopReason stopReason, DecodeMetrics metrics) {
}
