package dev.pipeinfer.transformer.model;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.testdata.TestData;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ModelConfigTest {

    private static ModelConfig config(String file) throws IOException {
        try (GgufFile f = GgufFile.open(TestData.model(file))) {
            return ModelConfig.from(f);
        }
    }

    @Test
    void stories260KIsASmallGqaLlama() throws IOException {
        ModelConfig c = config("stories260K.gguf");
        assertEquals(Architecture.LLAMA, c.architecture());
        assertEquals(5, c.layers());
        assertEquals(64, c.embd());
        assertEquals(172, c.ff());
        assertEquals(8, c.heads());
        assertEquals(4, c.kvHeads());
        assertEquals(8, c.headDim());
        assertEquals(32, c.kvDim());
        assertEquals(2, c.groupSize());
        assertEquals(8, c.ropeDims());
        assertEquals(10000f, c.ropeFreqBase(), "freq_base absent: llama.cpp's default");
        assertEquals(1f, c.ropeFreqScale());
        assertFalse(c.neoxRope());
        assertEquals(9.999999747378752e-06f, c.normEps());
        assertEquals(512, c.vocabSize());
        assertFalse(c.tiedEmbeddings());
    }

    @Test
    void llama2TinyRandomHasTheLlama2Vocabulary() throws IOException {
        ModelConfig c = config("llama-2-tiny-random.gguf");
        assertEquals(1, c.layers());
        assertEquals(2, c.heads());
        assertEquals(4, c.headDim());
        assertEquals(32000, c.vocabSize());
        assertEquals(4096, c.contextLength());
    }

    @Test
    void falcon40bStyleHasASeparateAttentionNorm() throws IOException {
        ModelConfig c = config("synth-falcon40b-F16.gguf");
        assertEquals(Architecture.FALCON, c.architecture());
        assertTrue(c.separateAttnNorm());
        assertEquals(8, c.heads());
        assertEquals(2, c.kvHeads());
        assertEquals(32, c.headDim());
        assertEquals(32, c.ropeDims(), "falcon rotates the whole head");
        assertTrue(c.neoxRope());
        assertEquals(1024, c.ff());
    }

    @Test
    void falcon7bStyleSharesOneNormAndIsMultiQuery() throws IOException {
        ModelConfig c = config("synth-falcon7b-Q8_0.gguf");
        assertFalse(c.separateAttnNorm());
        assertEquals(1, c.kvHeads());
        assertEquals(8, c.groupSize());
    }

    @Test
    void tiedEmbeddingsAreDetectedFromTheMissingOutputTensor() throws IOException {
        Optional<Path> v32k = TestData.find("models/synth-llama-v32k-Q4_K_M.gguf");
        assumeTrue(v32k.isPresent(), "needs the shared test data");
        try (GgufFile f = GgufFile.open(v32k.get())) {
            ModelConfig c = ModelConfig.from(f);
            assertTrue(c.tiedEmbeddings());
            assertEquals(32000, c.vocabSize());
        }
    }

    @Test
    void everyModelInTheTestDataHasAConsistentConfig() throws IOException {
        for (Path p : TestData.ggufFiles("models", "ModelConfigTest")) {
            try (GgufFile f = GgufFile.open(p)) {
                ModelConfig c = ModelConfig.from(f);
                assertEquals(c.embd(), c.heads() * c.headDim(), p.toString());
                assertEquals(0, c.heads() % c.kvHeads(), p.toString());
                assertEquals(c.tiedEmbeddings(), f.findTensor("output.weight").isEmpty(), p.toString());
            }
        }
    }
}
