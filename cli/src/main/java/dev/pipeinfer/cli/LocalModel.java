package dev.pipeinfer.cli;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.tensor.MatmulActivations;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOptions;
import dev.pipeinfer.transformer.kv.KvType;
import dev.pipeinfer.transformer.model.ModelConfig;
import dev.pipeinfer.transformer.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A whole model evaluated in this process, without a pipeline: what the measuring commands (logits,
 * perplexity) need, because they look at every position's logits rather than generate.
 */
final class LocalModel implements AutoCloseable {
    final GgufFile file;
    final ModelConfig config;
    final Tokenizer tokenizer;
    final ComputePool pool;

    private LocalModel(GgufFile file, ModelConfig config, Tokenizer tokenizer, ComputePool pool) {
        this.file = file;
        this.config = config;
        this.tokenizer = tokenizer;
        this.pool = pool;
    }

    /** Maps the model and reads its configuration and tokenizer; {@link #slice} then builds the layers. */
    static LocalModel open(Path model, int threads) throws IOException {
        if (threads < 1) throw new ErrorReporting.UsageError("--threads must be at least 1, not " + threads);
        GgufFile file = GgufFile.open(model);
        ComputePool pool = null;
        try {
            ModelConfig config = ModelConfig.from(file);
            Tokenizer tokenizer = Tokenizer.from(file.metadata());
            pool = new ComputePool(threads);
            return new LocalModel(file, config, tokenizer, pool);
        } catch (RuntimeException e) {
            if (pool != null) pool.close();
            file.close();
            throw e;
        }
    }

    /**
     * All the model's layers in one slice, with a KV cache of {@code contextSize} cells of {@code kvType}, its
     * matmuls taking {@code activations}.
     */
    LayerSlice slice(int contextSize, KvType kvType, MatmulActivations activations) {
        return LayerSlice.loadAll(file, SliceOptions.generation(contextSize).withKvType(kvType).withActivations(activations), pool);
    }

    /** The value of an {@code --activations} option. */
    static MatmulActivations activations(String name) {
        try {
            return MatmulActivations.parse(name);
        } catch (IllegalArgumentException e) {
            throw new ErrorReporting.UsageError("--activations must be auto, int8 or f32, not '" + name + "'");
        }
    }

    /** The value of a {@code --kv-type} option. */
    static KvType kvType(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "f32" -> KvType.F32;
            case "f16" -> KvType.F16;
            default -> throw new ErrorReporting.UsageError("--kv-type must be f16 or f32, not '" + name + "'");
        };
    }

    static int defaultThreads() {
        return Runtime.getRuntime().availableProcessors();
    }

    @Override
    public void close() {
        pool.close();
        file.close();
    }
}
