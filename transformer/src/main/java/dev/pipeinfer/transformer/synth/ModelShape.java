package dev.pipeinfer.transformer.synth;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The hyperparameters of a model to synthesise. The presets are real models' shapes, so that speed and
 * memory can be measured on this machine without downloading the checkpoints; tests use tiny shapes.
 */
public record ModelShape(String id, String architecture, int embeddingLength, int feedForwardLength,
                         int blockCount, int headCount, int headCountKv, int contextLength, float normEpsilon) {

    public static final ModelShape TINYLLAMA_1_1B = new ModelShape("tinyllama-1.1b", "llama", 2048, 5632, 22, 32, 4, 2048, 1e-5f);
    public static final ModelShape LLAMA_2_7B = new ModelShape("llama-2-7b", "llama", 4096, 11008, 32, 32, 32, 4096, 1e-5f);
    public static final ModelShape FALCON_7B = new ModelShape("falcon-7b", "falcon", 4544, 18176, 32, 71, 1, 2048, 1e-5f);
    public static final List<ModelShape> PRESETS = List.of(TINYLLAMA_1_1B, LLAMA_2_7B, FALCON_7B);

    public ModelShape {
        if (!architecture.equals("llama") && !architecture.equals("falcon")) {
            throw new IllegalArgumentException("architecture must be llama or falcon, got " + architecture);
        }
        if (embeddingLength % headCount != 0 || headCount % headCountKv != 0) {
            throw new IllegalArgumentException("heads must divide the embedding and kv heads the heads: " + this);
        }
    }

    public int headDim() {
        return embeddingLength / headCount;
    }

    public static ModelShape preset(String id) {
        for (ModelShape s : PRESETS) if (s.id.equals(id)) return s;
        throw new IllegalArgumentException("unknown shape '" + id + "'; known: " + known());
    }

    public static String known() {
        return PRESETS.stream().map(ModelShape::id).collect(Collectors.joining(", "));
    }
}
