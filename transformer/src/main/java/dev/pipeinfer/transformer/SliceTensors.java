package dev.pipeinfer.transformer;

import dev.pipeinfer.gguf.GgmlType;
import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.GgufTensor;
import dev.pipeinfer.tensor.Matmul;
import dev.pipeinfer.tensor.WeightMatrix;
import dev.pipeinfer.transformer.model.ModelConfig;
import dev.pipeinfer.transformer.model.UnsupportedModelException;

import java.util.Arrays;

/**
 * Looks up a slice's tensors by name and checks their shapes against the config, so a malformed file
 * fails at load time with the tensor's name rather than deep inside a matmul. Matrices are views of the
 * file's mapping (nothing is read until a forward pass touches them).
 */
final class SliceTensors {
    private final GgufFile file;
    private final ModelConfig config;

    SliceTensors(GgufFile file, ModelConfig config) {
        this.file = file;
        this.config = config;
    }

    /** A weight matrix of {@code rows} outputs by {@code cols} inputs (ggml shape [cols, rows]). */
    WeightMatrix matrix(String name, int rows, int cols) {
        GgufTensor t = file.tensor(name);
        if (t.dimensions() != 2 || t.shape()[0] != cols || t.shape()[1] != rows) {
            throw unsupported(name, "has shape " + Arrays.toString(t.shape()) + ", expected [" + cols + ", " + rows + "]");
        }
        try {
            return WeightMatrix.of(t);
        } catch (IllegalArgumentException e) {
            throw unsupported(name, e.getMessage());
        }
    }

    /**
     * A 1-D norm weight or bias, copied to a float array: n_embd floats per layer, negligible next to the
     * matrices, and the norm loops then run over plain arrays.
     */
    float[] vector(String name, int length) {
        GgufTensor t = file.tensor(name);
        if (t.dimensions() != 1 || t.shape()[0] != length) {
            throw unsupported(name, "has shape " + Arrays.toString(t.shape()) + ", expected [" + length + "]");
        }
        if (t.type() != GgmlType.F32) throw unsupported(name, "is " + t.type() + ", expected F32 for a 1-D tensor");
        float[] v = new float[length];
        Matmul.getRow(WeightMatrix.of(t), 0, v, 0);
        return v;
    }

    boolean has(String name) {
        return file.findTensor(name).isPresent();
    }

    WeightMatrix embedding() {
        return matrix("token_embd.weight", config.vocabSize(), config.embd());
    }

    /** lm_head: {@code output.weight}, or the token embedding when the model ties them. */
    WeightMatrix output() {
        return matrix(config.tiedEmbeddings() ? "token_embd.weight" : "output.weight", config.vocabSize(), config.embd());
    }

    private UnsupportedModelException unsupported(String tensor, String problem) {
        return new UnsupportedModelException(file.path() + ": tensor '" + tensor + "' " + problem);
    }
}
