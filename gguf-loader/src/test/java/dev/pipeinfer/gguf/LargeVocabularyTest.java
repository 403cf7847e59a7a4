package dev.pipeinfer.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pipeinfer.gguf.testdata.TestData;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * Llama 3's vocabulary file (7.8 MB: 128256 tokens and 280147 merges, testdata README §1) loads whole,
 * with the values the README gives. The load time is printed for the record, not asserted.
 */
class LargeVocabularyTest {
    @Test
    void llama3VocabularyLoadsWithEveryTokenAndMerge() throws Exception {
        Path file = TestData.find("tokenizer/ggml-vocab-llama-bpe.gguf").orElseThrow();
        long t0 = System.nanoTime();
        try (GgufFile f = GgufFile.open(file)) {
            long openNanos = System.nanoTime() - t0;
            GgufMetadata md = f.metadata();
            String[] tokens = md.getStringArray("tokenizer.ggml.tokens");
            String[] merges = md.getStringArray("tokenizer.ggml.merges");
            int[] types = md.getIntArray("tokenizer.ggml.token_type");
            assertEquals(128000 + 256, tokens.length);
            assertEquals(280147, merges.length);
            assertEquals(tokens.length, types.length);
            assertEquals("gpt2", md.getString("tokenizer.ggml.model"));
            assertEquals("llama-bpe", md.getString("tokenizer.ggml.pre"));
            assertEquals(128000, md.findId("tokenizer.ggml.bos_token_id").orElseThrow());
            assertEquals(128001, md.findId("tokenizer.ggml.eos_token_id").orElseThrow());
            assertEquals(3, types[128000], "special tokens have token type 3");
            assertEquals("<|begin_of_text|>", tokens[128000]);
            assertEquals("Ġ", merges[0].substring(0, 1), "merges are byte-level BPE text: " + merges[0]);
            System.out.printf(Locale.ROOT, "[vocab] %s: %d tokens, %d merges opened in %.1f ms (first open in this JVM)%n",
                    file.getFileName(), tokens.length, merges.length, openNanos / 1e6);
        }
    }
}
