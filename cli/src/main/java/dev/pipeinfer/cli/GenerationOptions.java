package dev.pipeinfer.cli;

import dev.pipeinfer.transformer.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The options of text generation, named as llama.cpp users know them. */
final class GenerationOptions {
    @Option(names = {"-m", "--model"}, paramLabel = "FILE", description = "The target model (GGUF).")
    Path model;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "The prompt.")
    String prompt;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "Read the prompt from a file.")
    Path promptFile;

    @Option(names = "--prompt-tokens", split = ",", paramLabel = "IDS", description = "The prompt as token ids (1,2,3), used as given.")
    List<Integer> promptTokens;

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N", description = "Tokens to generate (default ${DEFAULT-VALUE}).")
    int maxTokens = 128;

    @Option(names = "--temp", paramLabel = "T", description = "Temperature; 0 is greedy (default ${DEFAULT-VALUE}).")
    float temperature = 0.8f;

    @Option(names = "--top-k", paramLabel = "K", description = "Keep the K most likely tokens; 0 keeps all (default ${DEFAULT-VALUE}).")
    int topK = 40;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling threshold; 1 disables (default ${DEFAULT-VALUE}).")
    float topP = 0.95f;

    @Option(names = "--min-p", paramLabel = "P", description = "Drop tokens below P x the top probability; 0 disables (default ${DEFAULT-VALUE}).")
    float minP = 0.05f;

    @Option(names = "--repeat-penalty", paramLabel = "R", description = "Penalise repeats of the last --repeat-last-n tokens; 1 disables (default ${DEFAULT-VALUE}).")
    float repeatPenalty = 1.0f;

    @Option(names = "--repeat-last-n", paramLabel = "N", description = "Window of the repeat penalty (default ${DEFAULT-VALUE}).")
    int repeatLastN = 64;

    @Option(names = {"-s", "--seed"}, paramLabel = "S", description = "Sampling seed; the same seed gives the same text (default: random, printed).")
    Long seed;

    @Option(names = "--ignore-eos", description = "Keep generating past the end-of-text token.")
    boolean ignoreEos;

    @Option(names = "--json", description = "Print one JSON object (tokens, text, timings) instead of streaming text.")
    boolean json;

    @Option(names = "--metrics-json", paramLabel = "FILE", description = "Also write the metrics (snake_case keys) to FILE as JSON.")
    Path metricsJson;

    @Mixin
    StageOptions stages = new StageOptions();

    @Mixin
    SpeculationOptions speculation = new SpeculationOptions();

    long effectiveSeed() {
        if (seed == null) seed = new java.security.SecureRandom().nextLong() & 0xFFFF_FFFFL;
        return seed;
    }

    SamplingParams sampling() {
        try {
            return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatPenalty == 1.0f ? 0 : repeatLastN,
                    0f, 0f, effectiveSeed());
        } catch (IllegalArgumentException e) {
            throw new ErrorReporting.UsageError(e.getMessage());
        }
    }
}
