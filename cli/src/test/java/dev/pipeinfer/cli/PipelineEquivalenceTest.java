package dev.pipeinfer.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.speculation.GenerationRequest;
import dev.pipeinfer.speculation.GenerationResult;
import dev.pipeinfer.speculation.IterativeDecoder;
import dev.pipeinfer.speculation.TokenListener;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.transformer.Batch;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOutput;
import dev.pipeinfer.transformer.sampling.Sampler;
import dev.pipeinfer.transformer.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Splitting a model over pipeline stages changes where it runs, never what it computes: greedy generation
 * over 1-4 stages, linked in memory or by the wire protocol over loopback TCP, gives exactly the tokens
 * of one-node decoding with the engine alone.
 */
class PipelineEquivalenceTest {
    private static final int STEPS = 24;

    static Stream<Arguments> topologies() {
        List<Arguments> all = new ArrayList<>();
        for (String model : List.of("stories260K.gguf", "synth-llama-Q4_K_M.gguf", "synth-falcon7b-Q8_0.gguf", "synth-falcon40b-F16.gguf")) {
            for (int stages = 1; stages <= 4; stages++) {
                all.add(Arguments.of(model, stages, "memory"));
                if (stages > 1) all.add(Arguments.of(model, stages, "tcp"));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} over {1} stage(s), {2}")
    @MethodSource("topologies")
    void greedyTokensEqualOneNodeDecoding(String model, int stages, String transport) throws Exception {
        Path file = TestData.model(model);
        int[] prompt = promptOf(model);
        int[] expected = oneNodeGreedy(file, prompt, STEPS);

        StageOptions options = new StageOptions();
        options.localStages = stages;
        options.localTransport = transport;
        options.threads = stages; // one thread per stage
        options.ctx = 256;
        options.kvType = "f32";
        options.activations = "int8"; // as the one-node reference, on every CPU
        try (TargetPipeline target = TargetPipeline.open(file, options, s -> { })) {
            GenerationResult r = new IterativeDecoder(target.head()).generate(
                    new GenerationRequest(prompt, STEPS, SamplingParams.greedy(), t -> false), TokenListener.NONE);
            assertArrayEquals(expected, r.tokens());
            assertEquals(stages, target.pipeline().stageCount());
        }
    }

    @Test
    void stories260KOverThreeStagesReproducesLlamaCpp() throws Exception {
        var ref = new ObjectMapper().readTree(TestData.require("refs/stories260K/p1.long.json").toFile());
        int[] expected = new ObjectMapper().convertValue(ref.get("greedy_tokens"), int[].class);
        StageOptions options = new StageOptions();
        options.localStages = 3;
        options.localTransport = "tcp";
        options.threads = 3;
        try (TargetPipeline target = TargetPipeline.open(TestData.model("stories260K.gguf"), options, s -> { })) {
            GenerationResult r = new IterativeDecoder(target.head()).generate(
                    new GenerationRequest(new int[] {1, 403, 407, 261, 378}, expected.length, SamplingParams.greedy(), t -> false),
                    TokenListener.NONE);
            assertArrayEquals(expected, r.tokens());
        }
    }

    private static int[] promptOf(String model) throws Exception {
        String name = model.replace(".gguf", "");
        var ref = new ObjectMapper().readTree(TestData.require("refs/" + name + "/p1.json").toFile());
        return new ObjectMapper().convertValue(ref.get("prompt_tokens"), int[].class);
    }

    /** The reference: the whole model as one slice, driven directly, one token per forward pass. */
    static int[] oneNodeGreedy(Path model, int[] prompt, int steps) throws Exception {
        try (GgufFile f = GgufFile.open(model); ComputePool pool = new ComputePool(1)) {
            LayerSlice slice = LayerSlice.loadAll(f, TargetPipeline.sliceOptions(256, "f32", "int8"), pool);
            SliceOutput out = slice.forward(Batch.sequence(prompt, 0, 0, false));
            int[] tokens = new int[steps];
            for (int s = 0; s < steps; s++) {
                tokens[s] = Sampler.argmax(out.data(), 0, out.width());
                out = slice.forward(Batch.sequence(new int[] {tokens[s]}, prompt.length + s, 0, false));
            }
            return tokens;
        }
    }
}
