package dev.pipeinfer.transformer.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The model families this engine runs, by their {@code general.architecture} name. */
public enum Architecture {
    /** Llama 1/2/3, Mistral, TinyLlama and Llama-2 merges: RMSNorm, normal RoPE, SwiGLU, sequential residual. */
    LLAMA("llama"),
    /** Falcon 7B/40B/180B: LayerNorm with bias, NeoX RoPE, GELU MLP, parallel attention + MLP residual. */
    FALCON("falcon");

    /** The value of {@code general.architecture}, also the prefix of the family's metadata keys. */
    public final String ggufName;

    Architecture(String ggufName) {
        this.ggufName = ggufName;
    }

    /** The architecture called {@code name}, or an {@link UnsupportedModelException} that names it. */
    public static Architecture byName(String source, String name) {
        for (Architecture a : values()) if (a.ggufName.equals(name)) return a;
        throw new UnsupportedModelException(source + ": architecture '" + name + "' is not supported (supported: "
                + Arrays.stream(values()).map(a -> a.ggufName).collect(Collectors.joining(", ")) + ")");
    }
}
