package dev.pipeinfer.speculation;

/**
 * A decoding strategy over a pipeline of stages (DESIGN §7). Every decoder, with greedy sampling, yields
 * exactly the tokens of plain single-node decoding; they differ only in how busy they keep the stages.
 */
public interface Decoder {
    /** The name used by {@code --mode} and in metrics: iterative, speculative or pipeinfer. */
    String mode();

    /**
     * Generates from a fresh context (the caches of every stage must hold no sequence), streaming each
     * accepted token to {@code listener}.
     */
    GenerationResult generate(GenerationRequest request, TokenListener listener) throws InterruptedException;
}
