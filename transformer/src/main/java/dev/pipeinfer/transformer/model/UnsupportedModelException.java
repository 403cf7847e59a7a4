package dev.pipeinfer.transformer.model;

/**
 * A well-formed GGUF file describing a model this engine cannot run: another architecture, a RoPE
 * scaling scheme we do not implement, inconsistent hyperparameters. The message names the file and what
 * is unsupported.
 */
public final class UnsupportedModelException extends RuntimeException {
    public UnsupportedModelException(String message) {
        super(message);
    }
}
