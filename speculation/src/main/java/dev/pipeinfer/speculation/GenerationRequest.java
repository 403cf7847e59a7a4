package dev.pipeinfer.speculation;

import dev.pipeinfer.transformer.sampling.SamplingParams;
import java.util.function.IntPredicate;

/**
 * What to generate: a prompt (token ids, BOS included when the model wants one), how many tokens at most,
 * how to sample, and which tokens end the text (EOS/EOT; {@code stopAt} returning false for all ignores
 * them, like llama.cpp's --ignore-eos).
 */
public record GenerationRequest(int[] prompt, int maxTokens, SamplingParams sampling, IntPredicate stopAt) {

    public GenerationRequest {
        if (prompt == null || prompt.length == 0) throw new IllegalArgumentException("the prompt has no tokens");
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        prompt = prompt.clone();
    }
}
