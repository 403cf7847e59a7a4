package dev.pipeinfer.transformer.tokenizer;

import dev.pipeinfer.gguf.GgufMetadata;

import java.nio.charset.StandardCharsets;

/**
 * Text to token ids and back, exactly as llama.cpp (commit c392e509) does for the same GGUF vocabulary.
 *
 * <p>Two families are supported: SentencePiece ({@code tokenizer.ggml.model = "llama"}, Llama 1/2 and
 * llama2.c vocabularies) and byte-level BPE ({@code "gpt2"}) with the pre-tokenizers {@code default},
 * {@code gpt-2}, {@code falcon} and {@code llama-bpe} (Llama 3). Anything else is refused by name.
 */
public interface Tokenizer {

    /**
     * Token ids for {@code text}, as llama.cpp's {@code llama_tokenize}.
     *
     * @param addSpecial   add BOS in front when the vocabulary asks for it, and EOS at the end likewise
     * @param parseSpecial when true, the texts of control tokens (e.g. {@code <s>}, {@code <|eot_id|>}) found in
     *                     {@code text} become those tokens; when false they are tokenized as plain text.
     *                     User-defined tokens are matched either way, as in llama.cpp.
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /**
     * The bytes token {@code id} stands for in generated text, as llama.cpp's
     * {@code llama_token_to_piece(special = false)}: control and unknown tokens give no bytes, a byte token
     * gives its one byte (which may be part of a multi-byte character), U+2581 becomes a space.
     */
    default byte[] piece(int id) {
        return piece(id, false);
    }

    /** As {@link #piece(int)}; with {@code renderSpecial} control and unknown tokens give their text. */
    byte[] piece(int id, boolean renderSpecial);

    /**
     * The bytes of a whole token sequence, as llama.cpp's {@code llama_detokenize}: pieces concatenated;
     * for SentencePiece the space that encoding put in front of the text is dropped from the first token
     * unless the sequence starts with BOS; byte-level BPE vocabularies apply llama.cpp's clean-up of
     * spaces before {@code ? ! . ,} and around apostrophes.
     *
     * @param removeSpecial  drop a leading BOS and a trailing EOS when the vocabulary adds them
     * @param unparseSpecial render control tokens as their text instead of nothing
     */
    byte[] detokenize(int[] ids, boolean removeSpecial, boolean unparseSpecial);

    /** {@link #detokenize} without removing or rendering special tokens, decoded as UTF-8 (invalid bytes become U+FFFD). */
    default String decode(int[] ids) {
        return new String(detokenize(ids, false, false), StandardCharsets.UTF_8);
    }

    /** The beginning-of-sequence token, or -1 when the vocabulary has none. */
    int bos();

    /** The end-of-sequence token, or -1 when the vocabulary has none. */
    int eos();

    /** Whether {@link #encode} with {@code addSpecial} puts BOS in front. */
    boolean addsBos();

    /** Whether {@link #encode} with {@code addSpecial} puts EOS at the end. */
    boolean addsEos();

    /** Whether generation should stop at {@code id} (EOS, end-of-turn and similar). */
    boolean isEndOfGeneration(int id);

    int vocabSize();

    /** Whether {@code id} is a control token (BOS, EOS, {@code <|eot_id|>}, ...). */
    boolean isControl(int id);

    /** The token's text as stored in the vocabulary (byte-level encoded for BPE, with U+2581 for SentencePiece). */
    String tokenText(int id);

    /** The tokenizer for a GGUF file's metadata. */
    static Tokenizer from(GgufMetadata metadata) {
        return from(Vocabulary.from(metadata));
    }

    /** The tokenizer for {@code vocabulary}; an unsupported model or pre-tokenizer is refused by name. */
    static Tokenizer from(Vocabulary vocabulary) {
        return switch (vocabulary.model()) {
            case "llama" -> new SentencePieceTokenizer(vocabulary);
            case "gpt2" -> new BytePairTokenizer(vocabulary, PreTokenizer.forName(vocabulary.pre()));
            default -> throw new UnsupportedTokenizerException(
                    "tokenizer.ggml.model '" + vocabulary.model() + "' is not supported (only 'llama' = SentencePiece and 'gpt2' = byte-level BPE)");
        };
    }
}
