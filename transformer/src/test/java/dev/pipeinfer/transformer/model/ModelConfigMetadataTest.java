package dev.pipeinfer.transformer.model;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.GgufFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** ModelConfig on hand-made headers: keys the test models do not carry, and files it must refuse. */
class ModelConfigMetadataTest {
    @TempDir
    Path dir;

    private ModelConfig read(TinyGguf gguf) throws IOException {
        try (GgufFile f = GgufFile.open(gguf.write(dir, "m.gguf"))) {
            return ModelConfig.from(f);
        }
    }

    @Test
    void defaultsFollowLlamaCpp() throws IOException {
        ModelConfig c = read(TinyGguf.llama());
        assertEquals(4, c.kvHeads(), "head_count_kv absent: no GQA");
        assertEquals(16, c.headDim());
        assertEquals(16, c.ropeDims(), "rope.dimension_count absent: the whole head");
        assertEquals(10000f, c.ropeFreqBase());
        assertEquals(1f, c.ropeFreqScale());
        assertTrue(c.tiedEmbeddings(), "no output.weight");
        assertEquals(16, c.vocabSize());
    }

    @Test
    void llama3StyleFrequencyBaseAndGqa() throws IOException {
        ModelConfig c = read(TinyGguf.llama().put("llama.rope.freq_base", 500000f)
                .put("llama.attention.head_count_kv", 2).tensor("output.weight", 64, 16));
        assertEquals(500000f, c.ropeFreqBase());
        assertEquals(2, c.kvHeads());
        assertEquals(32, c.kvDim());
        assertFalse(c.tiedEmbeddings());
    }

    @Test
    void linearRopeScalingDividesPositions() throws IOException {
        assertEquals(0.25f, read(TinyGguf.llama().put("llama.rope.scaling.type", "linear")
                .put("llama.rope.scaling.factor", 4f)).ropeFreqScale());
        assertEquals(0.5f, read(TinyGguf.llama().put("llama.rope.scale_linear", 2f)).ropeFreqScale(),
                "legacy key");
    }

    @Test
    void otherRopeScalingIsRefusedByName() {
        var e = assertThrows(UnsupportedModelException.class,
                () -> read(TinyGguf.llama().put("llama.rope.scaling.type", "yarn").put("llama.rope.scaling.factor", 4f)));
        assertTrue(e.getMessage().contains("'yarn'"), e.getMessage());
    }

    @Test
    void otherArchitecturesAreRefusedByName() {
        var e = assertThrows(UnsupportedModelException.class,
                () -> read(new TinyGguf().put("general.architecture", "gpt2").tensor("token_embd.weight", 8, 8)));
        assertTrue(e.getMessage().contains("m.gguf"), e.getMessage());
        assertTrue(e.getMessage().contains("'gpt2' is not supported"), e.getMessage());
    }

    @Test
    void inconsistentHeadsAreRefused() {
        var e = assertThrows(UnsupportedModelException.class,
                () -> read(TinyGguf.llama().put("llama.attention.head_count_kv", 3)));
        assertTrue(e.getMessage().contains("not a multiple"), e.getMessage());
    }

    @Test
    void aMissingKeyNamesTheKey() {
        TinyGguf g = new TinyGguf().put("general.architecture", "falcon").put("falcon.block_count", 2)
                .tensor("token_embd.weight", 64, 16);
        var e = assertThrows(GgufFormatException.class, () -> read(g));
        assertTrue(e.getMessage().contains("falcon.embedding_length"), e.getMessage());
    }

    @Test
    void falconUsesNeoxRopeOverTheWholeHeadAndLayerNormEpsilon() throws IOException {
        ModelConfig c = read(new TinyGguf().put("general.architecture", "falcon")
                .put("falcon.block_count", 1).put("falcon.embedding_length", 64)
                .put("falcon.feed_forward_length", 256).put("falcon.attention.head_count", 4)
                .put("falcon.attention.head_count_kv", 1).put("falcon.attention.layer_norm_epsilon", 1e-3f)
                .tensor("token_embd.weight", 64, 16).tensor("blk.0.attn_norm_2.weight", 64));
        assertTrue(c.neoxRope());
        assertEquals(16, c.ropeDims());
        assertEquals(1e-3f, c.normEps());
        assertTrue(c.separateAttnNorm());
    }
}
