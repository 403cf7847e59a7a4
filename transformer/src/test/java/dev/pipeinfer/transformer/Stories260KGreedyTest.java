package dev.pipeinfer.transformer;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.transformer.kv.KvType;
import dev.pipeinfer.transformer.sampling.Sampler;
import dev.pipeinfer.transformer.sampling.SamplingParams;
import dev.pipeinfer.transformer.tokenizer.StreamingDecoder;
import dev.pipeinfer.transformer.tokenizer.Tokenizer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The one trained model: stories260K continues "Once upon a time" exactly as llama.cpp does for 128
 * greedy steps (refs/stories260K/p1.long.json), decoding one token per forward pass with the KV cache,
 * from the prompt text to the streamed output text.
 */
class Stories260KGreedyTest {

    @ParameterizedTest
    @EnumSource(KvType.class)
    void reproducesLlamaCppsGreedyContinuation(KvType kvType) throws IOException {
        Path refFile = TestData.find("refs/stories260K/p1.long.json").orElseThrow();
        var ref = new ObjectMapper().readTree(refFile.toFile());
        int[] prompt = Reference.ints(ref.get("prompt_tokens"));
        int[] expected = Reference.ints(ref.get("greedy_tokens"));
        assertArrayEquals(new int[]{1, 403, 407, 261, 378}, prompt);
        assertEquals(128, expected.length);

        try (GgufFile file = GgufFile.open(TestData.model("stories260K.gguf"));
             ComputePool pool = new ComputePool(1)) {
            Tokenizer tokenizer = Tokenizer.from(file.metadata());
            assertArrayEquals(prompt, tokenizer.encode(ref.get("prompt_text").asText(), true, false));
            StreamingDecoder text = new StreamingDecoder(tokenizer);
            StringBuilder output = new StringBuilder();
            LayerSlice model = LayerSlice.loadAll(file, SliceOptions.generation(256).withKvType(kvType), pool);
            Sampler greedy = new Sampler(SamplingParams.greedy(), model.config().vocabSize());
            int[] generated = new int[expected.length];
            SliceOutput out = model.forward(Batch.sequence(prompt, 0, 0, false));
            for (int step = 0; step < expected.length; step++) {
                int next = greedy.sample(out.data(), 0);
                generated[step] = next;
                output.append(text.accept(next));
                assertEquals(expected[step], next, "step " + step + " (" + kvType + " cache)");
                out = model.forward(Batch.sequence(new int[]{next}, prompt.length + step, 0, false));
            }
            assertArrayEquals(expected, generated);
            output.append(text.finish());
            assertEquals(ref.get("greedy_text").asText(), output.toString());
            assertTrue(output.toString().startsWith(", there was a little girl named Lily."), output.toString());
            assertEquals(prompt.length + expected.length, model.kvCache().usedCells());
        }
    }
}
