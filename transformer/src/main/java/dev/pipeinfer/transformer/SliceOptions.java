package dev.pipeinfer.transformer;

import dev.pipeinfer.tensor.MatmulActivations;
import dev.pipeinfer.transformer.kv.KvType;

/**
 * How to run a layer slice.
 *
 * @param contextSize  KV cells: how many tokens, summed over all live sequences, the slice can hold
 * @param kvType       storage of K/V rows; F16 is llama.cpp's default, F32 reproduces reference numbers
 * @param gelu         Falcon's GELU evaluation (ignored for Llama)
 * @param initialBatch tokens the scratch buffers are sized for at first; they grow when a bigger batch comes
 * @param activations  what the weight matmuls multiply: INT8 is llama.cpp's way (and, with 256-bit vectors, faster
 *                     at decoding Q8_0 and Q4_0 weights), F32 follows the float64 reference
 */
public record SliceOptions(int contextSize, KvType kvType, GeluMode gelu, int initialBatch, MatmulActivations activations) {

    public SliceOptions {
        if (contextSize <= 0) throw new IllegalArgumentException("context size must be positive, got " + contextSize);
        if (initialBatch <= 0) throw new IllegalArgumentException("initial batch must be positive, got " + initialBatch);
        if (kvType == null || gelu == null || activations == null) throw new NullPointerException("slice options must all be set");
    }

    /** Options with f32 activations (the reference numbers). */
    public SliceOptions(int contextSize, KvType kvType, GeluMode gelu, int initialBatch) {
        this(contextSize, kvType, gelu, initialBatch, MatmulActivations.F32);
    }

    /**
     * Defaults for generation: llama.cpp's F16 cache and GELU table, and the activations that decode faster on
     * this CPU ({@link MatmulActivations#preferred}: int8, as llama.cpp, where vectors are 256 bits).
     */
    public static SliceOptions generation(int contextSize) {
        return new SliceOptions(contextSize, KvType.F16, GeluMode.GGML_FP16_TABLE, 32, MatmulActivations.preferred());
    }

    public SliceOptions withKvType(KvType type) {
        return new SliceOptions(contextSize, type, gelu, initialBatch, activations);
    }

    public SliceOptions withGelu(GeluMode mode) {
        return new SliceOptions(contextSize, kvType, mode, initialBatch, activations);
    }

    public SliceOptions withActivations(MatmulActivations mode) {
        return new SliceOptions(contextSize, kvType, gelu, initialBatch, mode);
    }
}
