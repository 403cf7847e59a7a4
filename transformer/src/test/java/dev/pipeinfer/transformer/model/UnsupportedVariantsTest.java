package dev.pipeinfer.transformer.model;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.transformer.Batch;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Files that look like a supported architecture but carry parts this engine does not compute are refused
 * with the part's name, never run with the part ignored.
 */
class UnsupportedVariantsTest {
    @TempDir
    Path dir;

    /** A complete two-layer llama (zero weights) that loads and runs. */
    private static TinyGguf tinyLlama() {
        TinyGguf g = TinyGguf.llama().tensor("output_norm.weight", 64);
        for (int l = 0; l < 2; l++) {
            String p = "blk." + l + ".";
            g.tensor(p + "attn_norm.weight", 64).tensor(p + "attn_q.weight", 64, 64).tensor(p + "attn_k.weight", 64, 64)
                    .tensor(p + "attn_v.weight", 64, 64).tensor(p + "attn_output.weight", 64, 64)
                    .tensor(p + "ffn_norm.weight", 64).tensor(p + "ffn_gate.weight", 64, 128)
                    .tensor(p + "ffn_up.weight", 64, 128).tensor(p + "ffn_down.weight", 128, 64);
        }
        return g;
    }

    @Test
    void theHandMadeModelRuns() throws IOException {
        try (GgufFile f = GgufFile.open(tinyLlama().write(dir, "ok.gguf")); ComputePool pool = new ComputePool(1)) {
            LayerSlice s = LayerSlice.loadAll(f, SliceOptions.generation(8), pool);
            assertEquals(16, s.forward(Batch.sequence(new int[]{1, 2}, 0, 0, false)).width());
        }
    }

    @Test
    void aBiasTheArchitectureDoesNotHaveIsRefusedByName() throws IOException {
        try (GgufFile f = GgufFile.open(tinyLlama().tensor("blk.1.attn_q.bias", 64).write(dir, "bias.gguf"));
             ComputePool pool = new ComputePool(1)) {
            var e = assertThrows(UnsupportedModelException.class, () -> LayerSlice.loadAll(f, SliceOptions.generation(8), pool));
            assertTrue(e.getMessage().contains("'blk.1.attn_q.bias'"), e.getMessage());
            assertDoesNotThrow(() -> LayerSlice.load(f, 0, 1, SliceOptions.generation(8), pool),
                    "the layer is another slice's business");
        }
    }

    @Test
    void mixtureOfExpertsIsRefused() {
        var e = assertThrows(UnsupportedModelException.class, () -> {
            try (GgufFile f = GgufFile.open(tinyLlama().put("llama.expert_count", 8).write(dir, "moe.gguf"))) {
                ModelConfig.from(f);
            }
        });
        assertTrue(e.getMessage().contains("mixture-of-experts"), e.getMessage());
    }

    @Test
    void aMissingBlockTensorNamesIt() throws IOException {
        TinyGguf g = TinyGguf.llama().tensor("output_norm.weight", 64).tensor("blk.0.attn_norm.weight", 64);
        try (GgufFile f = GgufFile.open(g.write(dir, "missing.gguf")); ComputePool pool = new ComputePool(1)) {
            var e = assertThrows(RuntimeException.class, () -> LayerSlice.loadAll(f, SliceOptions.generation(8), pool));
            assertTrue(e.getMessage().contains("blk.0.attn_q.weight"), e.getMessage());
        }
    }

    @Test
    void aTensorOfTheWrongShapeNamesItAndBothShapes() throws IOException {
        TinyGguf g = tinyLlama().tensor("blk.0.ffn_up.weight", 64, 100);
        try (GgufFile f = GgufFile.open(g.write(dir, "shape.gguf")); ComputePool pool = new ComputePool(1)) {
            var e = assertThrows(UnsupportedModelException.class, () -> LayerSlice.loadAll(f, SliceOptions.generation(8), pool));
            assertTrue(e.getMessage().contains("'blk.0.ffn_up.weight' has shape [64, 100], expected [64, 128]"), e.getMessage());
        }
    }
}
