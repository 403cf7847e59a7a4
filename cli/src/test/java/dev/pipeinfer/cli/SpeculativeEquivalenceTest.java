package dev.pipeinfer.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.pipeline.LayerSliceCompute;
import dev.pipeinfer.speculation.Decoder;
import dev.pipeinfer.speculation.DraftModel;
import dev.pipeinfer.speculation.GenerationRequest;
import dev.pipeinfer.speculation.GenerationResult;
import dev.pipeinfer.speculation.IterativeDecoder;
import dev.pipeinfer.speculation.SpeculationParams;
import dev.pipeinfer.speculation.SpeculativeDecoder;
import dev.pipeinfer.speculation.TokenListener;
import dev.pipeinfer.transformer.kv.KvCache;
import dev.pipeinfer.transformer.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Speculation changes how busy the stages are, never the text: with greedy sampling, speculative and
 * pipeinfer decoding over 1-3 stages, linked in memory or over loopback TCP, produce exactly the tokens of
 * one-node iterative decoding (llama.cpp's own greedy tokens for stories260K), with a well-aligned draft,
 * a coarser one, and a draft that is almost always wrong. Afterwards every stage's KV cache holds exactly
 * what iterative decoding leaves: one sequence-0 cell per position of the prompt and accepted text.
 */
class SpeculativeEquivalenceTest {
    private static final int[] STORIES_PROMPT = {1, 403, 407, 261, 378};
    private static final int TOKENS = 128;

    static Stream<Arguments> cases() {
        List<Arguments> all = new ArrayList<>();
        String[][] pairs = {
                {"stories260K.gguf", "stories260K-Q8_0.gguf"},
                {"stories260K.gguf", "stories260K-Q4_0.gguf"},
                {"synth-llama-Q4_K_M.gguf", "stories260K.gguf"},
                {"synth-llama-Q4_0.gguf", "stories260K.gguf"}}; // a target on int8 activations
        for (String[] pair : pairs) {
            for (String mode : List.of("speculative", "pipeinfer", "pipeinfer --draft-first-run")) {
                for (int stages = 1; stages <= 3; stages++) {
                    all.add(Arguments.of(pair[0], pair[1], mode, stages, "memory"));
                    if (stages > 1) all.add(Arguments.of(pair[0], pair[1], mode, stages, "tcp"));
                }
            }
        }
        return all.stream();
    }

    @Timeout(60)
    @ParameterizedTest(name = "{0} drafted by {1}, {2}, {3} stage(s), {4}")
    @MethodSource("cases")
    void greedyTokensEqualIterativeDecoding(String target, String draftName, String mode, int stages, String transport)
            throws Exception {
        int[] prompt = target.startsWith("stories") ? STORIES_PROMPT : promptOf(target);
        int[] expected = expectedTokens(target, prompt);

        StageOptions options = stageOptions(stages, transport);
        if (!target.startsWith("stories")) options.kvType = "f32"; // as the one-node reference
        try (TargetPipeline t = TargetPipeline.open(TestData.model(target), options, s -> { });
             DraftModel draft = DraftModel.open(TestData.model(draftName), t.file(),
                     TargetPipeline.sliceOptions(options.ctx, options.kvType, options.activations), 1)) {
            SpeculationParams params = SpeculationParams.defaults().withDraftMax(4).withBranches(2) // trees with splits
                    .withDraftFirstRun(mode.equals("pipeinfer --draft-first-run"));
            Decoder decoder = mode.startsWith("pipeinfer") ? SpeculativeDecoder.pipeinfer(t.head(), draft, params)
                    : SpeculativeDecoder.speculative(t.head(), draft, params);
            GenerationRequest request = new GenerationRequest(prompt, expected.length, SamplingParams.greedy(), x -> false);
            List<Integer> streamed = new ArrayList<>();
            GenerationResult r = decoder.generate(request, streamed::add);
            assertArrayEquals(expected, r.tokens());
            assertEquals(expected.length, streamed.size());
            assertTrue(r.metrics().drafted() > 0, "the draft proposed tokens");
            List<String> speculative = kvLayout(t);
            // A second generation on the same pipeline starts clean and gives the same text.
            assertArrayEquals(expected, decoder.generate(request, TokenListener.NONE).tokens());

            GenerationResult iterative = new IterativeDecoder(t.head()).generate(request, TokenListener.NONE);
            assertArrayEquals(expected, iterative.tokens());
            List<String> reference = kvLayout(t);
            assertEquals(reference, speculative, "KV cells per stage after decoding");
            String firstStage = reference.getFirst();
            assertEquals(expectedLayout(prompt.length + expected.length - 1), firstStage);
        }
    }

    static StageOptions stageOptions(int stages, String transport) {
        StageOptions options = new StageOptions();
        options.localStages = stages;
        options.localTransport = transport;
        options.threads = stages;
        options.ctx = 256;
        options.activations = "int8"; // on every CPU (auto is f32 where vectors are wider than 256 bits)
        return options;
    }

    /** Each local stage's used cells as "position:sequences" in position order. */
    static List<String> kvLayout(TargetPipeline t) {
        List<String> stages = new ArrayList<>();
        for (LayerSliceCompute c : t.localComputes()) {
            KvCache kv = c.slice().kvCache();
            int[] cells = new int[kv.capacity()];
            int n = kv.usedCellsByPosition(cells);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < n; i++) sb.append(kv.position(cells[i])).append(':').append(kv.sequences(cells[i])).append(' ');
            stages.add(sb.toString());
        }
        return stages;
    }

    static String expectedLayout(int cells) {
        StringBuilder sb = new StringBuilder();
        for (int p = 0; p < cells; p++) sb.append(p).append(":1 ");
        return sb.toString();
    }

    private static int[] expectedTokens(String target, int[] prompt) throws Exception {
        if (target.equals("stories260K.gguf")) {
            var ref = new ObjectMapper().readTree(TestData.require("refs/stories260K/p1.long.json").toFile());
            int[] tokens = new ObjectMapper().convertValue(ref.get("greedy_tokens"), int[].class);
            assertEquals(TOKENS, tokens.length);
            return tokens;
        }
        Path file = TestData.model(target);
        return PipelineEquivalenceTest.oneNodeGreedy(file, prompt, TOKENS);
    }

    private static int[] promptOf(String model) throws Exception {
        var ref = new ObjectMapper().readTree(TestData.require("refs/" + model.replace(".gguf", "") + "/p1.json").toFile());
        return new ObjectMapper().convertValue(ref.get("prompt_tokens"), int[].class);
    }
}
