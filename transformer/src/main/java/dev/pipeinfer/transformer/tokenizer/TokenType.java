package dev.pipeinfer.transformer.tokenizer;

/**
 * The kind of a vocabulary entry, as stored in {@code tokenizer.ggml.token_type}. Each kind is also an
 * attribute bit, because llama.cpp may add {@link #CONTROL} to a token whose stored type is different
 * (see {@link VocabularyTokenizer}), and the tokenizer tests attributes, not stored types.
 */
public enum TokenType {
    UNDEFINED(0, 0),
    NORMAL(1, 1 << 2),
    UNKNOWN(2, 1 << 0),
    CONTROL(3, 1 << 3),
    USER_DEFINED(4, 1 << 4),
    UNUSED(5, 1 << 1),
    BYTE(6, 1 << 5);

    /** The number stored in GGUF. */
    public final int ggufCode;
    /** The attribute bit in a token's attribute mask. */
    final int bit;

    TokenType(int ggufCode, int bit) {
        this.ggufCode = ggufCode;
        this.bit = bit;
    }

    /** The kind stored as {@code code}; codes llama.cpp does not know are {@link #UNDEFINED}, as there. */
    public static TokenType fromGguf(int code) {
        for (TokenType t : values()) if (t.ggufCode == code) return t;
        return UNDEFINED;
    }
}
