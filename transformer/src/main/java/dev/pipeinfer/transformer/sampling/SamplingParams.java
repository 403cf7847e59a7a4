package dev.pipeinfer.transformer.sampling;

/**
 * What a {@link Sampler} does, with llama.cpp's meaning for each knob. The chain runs in llama.cpp's
 * default order: penalties, top-k, top-p, min-p, temperature, then a seeded draw. A temperature of 0 or
 * less means greedy (argmax after penalties, lowest id wins ties).
 *
 * @param temperature      logits are divided by it before the draw; {@code <= 0} selects greedy decoding
 * @param topK             keep the k highest logits; {@code <= 0} keeps all
 * @param topP             keep the smallest set of most likely tokens whose probability sums to at least p; 1 keeps all
 * @param minP             keep tokens whose probability is at least minP times the top token's; 0 keeps all
 * @param repeatPenalty    over the last {@code repeatLastN} tokens: positive logits are divided by it, negative
 *                         ones multiplied; 1 disables
 * @param repeatLastN      how many recent tokens the penalties look at; 0 disables them
 * @param frequencyPenalty subtracted once per occurrence of a token in the window
 * @param presencePenalty  subtracted once if a token occurs in the window
 * @param seed             seed of the draw; the same seed and inputs give the same tokens
 */
public record SamplingParams(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repeatPenalty,
        int repeatLastN,
        float frequencyPenalty,
        float presencePenalty,
        long seed) {

    public SamplingParams {
        if (!(topP > 0f && topP <= 1f)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        if (!(minP >= 0f && minP <= 1f)) throw new IllegalArgumentException("min-p must be in [0, 1], got " + minP);
        if (!(repeatPenalty > 0f)) throw new IllegalArgumentException("repeat penalty must be positive, got " + repeatPenalty);
        if (repeatLastN < 0) throw new IllegalArgumentException("repeat-last-n must be >= 0, got " + repeatLastN);
        if (Float.isNaN(temperature)) throw new IllegalArgumentException("temperature is NaN");
    }

    /** Argmax decoding, nothing else. */
    public static SamplingParams greedy() {
        return new SamplingParams(0f, 0, 1f, 0f, 1f, 0, 0f, 0f, 0L);
    }

    /** llama.cpp's defaults: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no repetition penalty. */
    public static SamplingParams defaults(long seed) {
        return new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, 0f, 0f, seed);
    }

    public boolean isGreedy() {
        return temperature <= 0f;
    }

    public SamplingParams withTemperature(float t) {
        return new SamplingParams(t, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed);
    }

    public SamplingParams withTopK(int k) {
        return new SamplingParams(temperature, k, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed);
    }

    public SamplingParams withTopP(float p) {
        return new SamplingParams(temperature, topK, p, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed);
    }

    public SamplingParams withMinP(float p) {
        return new SamplingParams(temperature, topK, topP, p, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed);
    }

    public SamplingParams withRepeatPenalty(float penalty, int lastN) {
        return new SamplingParams(temperature, topK, topP, minP, penalty, lastN, frequencyPenalty, presencePenalty, seed);
    }

    public SamplingParams withFrequencyPresence(float frequency, float presence) {
        return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequency, presence, seed);
    }

    public SamplingParams withSeed(long s) {
        return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, s);
    }
}
