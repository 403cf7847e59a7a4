/**
 * Tokenizers that agree exactly with llama.cpp (commit c392e509) for GGUF vocabularies.
 *
 * <p>{@link dev.pipeinfer.transformer.tokenizer.Tokenizer#from(dev.pipeinfer.gguf.GgufMetadata)} picks
 * SentencePiece ({@code tokenizer.ggml.model = "llama"}) or byte-level BPE ({@code "gpt2"} with the
 * {@code default}, {@code gpt-2}, {@code falcon} or {@code llama-bpe} pre-tokenizer) from a file's metadata;
 * {@link dev.pipeinfer.transformer.tokenizer.Vocabulary} holds that metadata as plain arrays.
 * {@link dev.pipeinfer.transformer.tokenizer.StreamingDecoder} prints generated tokens as whole characters.
 * Tokenizers are immutable and safe to share between threads; a StreamingDecoder is per stream.
 */
package dev.pipeinfer.transformer.tokenizer;
