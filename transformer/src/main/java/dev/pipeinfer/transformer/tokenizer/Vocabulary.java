package dev.pipeinfer.transformer.tokenizer;

import dev.pipeinfer.gguf.GgufMetadata;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The tokenizer part of a GGUF file's metadata, as stored: the arrays and the optional settings.
 * An absent optional means "llama.cpp's default for this model", which the tokenizers apply
 * (e.g. SentencePiece adds BOS unless told otherwise, byte-level BPE does not unless its pre-tokenizer
 * is Llama 3's).
 *
 * @param model           {@code tokenizer.ggml.model}: "llama" (SentencePiece) or "gpt2" (byte-level BPE)
 * @param pre             {@code tokenizer.ggml.pre}, or "" when absent
 * @param tokens          token texts, indexed by id
 * @param scores          SentencePiece merge scores by id, or null when absent (all 0 then)
 * @param tokenTypes      GGUF token type codes by id, or null when absent (all normal then)
 * @param merges          BPE merges "left right" in rank order, or null when absent
 * @param bos             {@code bos_token_id}, empty when absent or the "none" marker
 * @param eos             {@code eos_token_id}
 * @param unknown         {@code unknown_token_id}
 * @param padding         {@code padding_token_id}
 * @param addBos          {@code add_bos_token}
 * @param addEos          {@code add_eos_token}
 * @param addSpacePrefix  {@code add_space_prefix}
 */
public record Vocabulary(
        String model,
        String pre,
        String[] tokens,
        float[] scores,
        int[] tokenTypes,
        String[] merges,
        OptionalInt bos,
        OptionalInt eos,
        OptionalInt unknown,
        OptionalInt padding,
        Optional<Boolean> addBos,
        Optional<Boolean> addEos,
        Optional<Boolean> addSpacePrefix) {

    public static final String KEY_MODEL = "tokenizer.ggml.model";
    public static final String KEY_PRE = "tokenizer.ggml.pre";
    public static final String KEY_TOKENS = "tokenizer.ggml.tokens";
    public static final String KEY_SCORES = "tokenizer.ggml.scores";
    public static final String KEY_TOKEN_TYPE = "tokenizer.ggml.token_type";
    public static final String KEY_MERGES = "tokenizer.ggml.merges";

    public Vocabulary {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(tokens, "tokens");
        pre = pre == null ? "" : pre;
        if (scores != null && scores.length != tokens.length) {
            throw new IllegalArgumentException(KEY_SCORES + " has " + scores.length + " entries for " + tokens.length + " tokens");
        }
        if (tokenTypes != null && tokenTypes.length != tokens.length) {
            throw new IllegalArgumentException(KEY_TOKEN_TYPE + " has " + tokenTypes.length + " entries for " + tokens.length + " tokens");
        }
    }

    /** A vocabulary with only the arrays; every optional setting takes llama.cpp's default. */
    public static Vocabulary of(String model, String pre, String[] tokens, float[] scores, int[] tokenTypes, String[] merges) {
        return new Vocabulary(model, pre, tokens, scores, tokenTypes, merges,
                OptionalInt.empty(), OptionalInt.empty(), OptionalInt.empty(), OptionalInt.empty(),
                Optional.empty(), Optional.empty(), Optional.empty());
    }

    /** Reads the tokenizer keys; a missing required key or an ill-typed one fails naming the key. */
    public static Vocabulary from(GgufMetadata md) {
        return new Vocabulary(
                md.getString(KEY_MODEL),
                md.getString(KEY_PRE, ""),
                md.getStringArray(KEY_TOKENS),
                md.contains(KEY_SCORES) ? md.getFloatArray(KEY_SCORES) : null,
                md.contains(KEY_TOKEN_TYPE) ? md.getIntArray(KEY_TOKEN_TYPE) : null,
                md.contains(KEY_MERGES) ? md.getStringArray(KEY_MERGES) : null,
                md.findId("tokenizer.ggml.bos_token_id"),
                md.findId("tokenizer.ggml.eos_token_id"),
                md.findId("tokenizer.ggml.unknown_token_id"),
                md.findId("tokenizer.ggml.padding_token_id"),
                flag(md, "tokenizer.ggml.add_bos_token"),
                flag(md, "tokenizer.ggml.add_eos_token"),
                flag(md, "tokenizer.ggml.add_space_prefix"));
    }

    private static Optional<Boolean> flag(GgufMetadata md, String key) {
        return md.contains(key) ? Optional.of(md.getBoolean(key)) : Optional.empty();
    }

    public int size() {
        return tokens.length;
    }

    /** The stored type of token {@code id} (normal when the file has no type array). */
    public TokenType type(int id) {
        return tokenTypes == null ? TokenType.NORMAL : TokenType.fromGguf(tokenTypes[id]);
    }

    public float score(int id) {
        return scores == null ? 0f : scores[id];
    }
}
