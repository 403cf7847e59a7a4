package dev.pipeinfer.transformer;

import dev.pipeinfer.transformer.kv.KvType;

/**
 * How to run a layer slice.
 *
 * @param contextSize  KV cells: how many tokens, summed over all live sequences, the slice can hold
 * @param kvType       storage of K/V rows; F16 is llama.cpp's default, F32 reproduces reference numbers
 * @param gelu         Falcon's GELU evaluation (ignored for Llama)
 * @param initialBatch tokens the scratch buffers are sized for at first; they grow when a bigger batch comes
 */
public record SliceOptions(int contextSize, KvType kvType, GeluMode gelu, int initialBatch) {

    public SliceOptions {
        if (contextSize <= 0) throw new IllegalArgumentException("context size must be positive, got " + contextSize);
        if (initialBatch <= 0) throw new IllegalArgumentException("initial batch must be positive, got " + initialBatch);
    }

    /** llama.cpp's defaults for generation: F16 cache, ggml's GELU table. */
    public static SliceOptions generation(int contextSize) {
        return new SliceOptions(contextSize, KvType.F16, GeluMode.GGML_FP16_TABLE, 32);
    }

    public SliceOptions withKvType(KvType type) {
        return new SliceOptions(contextSize, type, gelu, initialBatch);
    }

    public SliceOptions withGelu(GeluMode mode) {
        return new SliceOptions(contextSize, kvType, mode, initialBatch);
    }
}
