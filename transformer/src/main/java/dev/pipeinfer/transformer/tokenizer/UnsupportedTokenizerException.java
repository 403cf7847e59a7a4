package dev.pipeinfer.transformer.tokenizer;

/** A vocabulary whose tokenizer model or pre-tokenizer this implementation does not reproduce. */
public final class UnsupportedTokenizerException extends IllegalArgumentException {
    public UnsupportedTokenizerException(String message) {
        super(message);
    }
}
