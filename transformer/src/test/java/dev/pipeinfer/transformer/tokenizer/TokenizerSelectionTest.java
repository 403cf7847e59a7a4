package dev.pipeinfer.transformer.tokenizer;

import org.junit.jupiter.api.Test;

import dev.pipeinfer.gguf.GgufFile;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which tokenizer a vocabulary gets, its special tokens and flags, and how long loading the largest takes. */
class TokenizerSelectionTest {

    @Test
    void specialTokensAndFlagsAreLlamaCppsForEachVocabulary() {
        Tokenizer spm = VocabFiles.tokenizer("ggml-vocab-llama-spm.gguf");
        assertEquals(32000, spm.vocabSize());
        assertEquals(1, spm.bos());
        assertEquals(2, spm.eos());
        assertTrue(spm.addsBos());
        assertFalse(spm.addsEos());
        assertTrue(spm.isControl(1) && spm.isControl(2) && !spm.isControl(0) && !spm.isControl(15043));
        assertTrue(spm.isEndOfGeneration(2));

        Tokenizer llama3 = VocabFiles.tokenizer("ggml-vocab-llama-bpe.gguf");
        assertEquals(128256, llama3.vocabSize());
        assertEquals(128000, llama3.bos());
        assertEquals(128001, llama3.eos());
        assertTrue(llama3.addsBos(), "the llama-bpe pre-tokenizer adds BOS although the file does not say so");
        assertTrue(llama3.isEndOfGeneration(128009), "<|eot_id|> ends generation");
        assertEquals("<|eot_id|>", llama3.tokenText(128009));

        Tokenizer falcon = VocabFiles.tokenizer("ggml-vocab-falcon.gguf");
        assertEquals(11, falcon.bos());
        assertFalse(falcon.addsBos());
        assertTrue(falcon.isControl(5), ">>ANSWER<< is a control token");

        Tokenizer gpt2 = VocabFiles.tokenizer("ggml-vocab-gpt-2.gguf");
        assertEquals(50256, gpt2.eos());
        assertFalse(gpt2.addsBos());
    }

    @Test
    void unsupportedModelsAndPreTokenizersAreRefusedByName() {
        String[] tokens = {"a", "b"};
        var bert = assertThrows(UnsupportedTokenizerException.class,
                () -> Tokenizer.from(Vocabulary.of("bert", "", tokens, null, null, null)));
        assertTrue(bert.getMessage().contains("'bert'"), bert.getMessage());
        var qwen = assertThrows(UnsupportedTokenizerException.class,
                () -> Tokenizer.from(Vocabulary.of("gpt2", "qwen2", tokens, null, null, new String[] {"a b"})));
        assertTrue(qwen.getMessage().contains("'qwen2'"), qwen.getMessage());
        var noMerges = assertThrows(IllegalArgumentException.class,
                () -> Tokenizer.from(Vocabulary.of("gpt2", "gpt-2", tokens, null, null, null)));
        assertTrue(noMerges.getMessage().contains("tokenizer.ggml.merges"), noMerges.getMessage());
    }

    @Test
    void tokenIdsOutsideTheVocabularyAreRejected() {
        Tokenizer spm = VocabFiles.tokenizer("ggml-vocab-llama-spm.gguf");
        var e = assertThrows(IllegalArgumentException.class, () -> spm.piece(32000));
        assertTrue(e.getMessage().contains("32000"), e.getMessage());
    }

    /** Timing is printed, never asserted: the machine is shared. */
    @Test
    void llama3VocabularyLoadsAndEncodesAFewKilobytes() {
        Path file = VocabFiles.path("ggml-vocab-llama-bpe.gguf");
        long t0 = System.nanoTime();
        Vocabulary vocabulary;
        try (GgufFile f = GgufFile.open(file)) {
            vocabulary = Vocabulary.from(f.metadata());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        long tRead = System.nanoTime();
        Tokenizer t = Tokenizer.from(vocabulary);
        long t1 = System.nanoTime();
        String text = String.join("\n", VocabFiles.vectors("ggml-vocab-llama-bpe.gguf").stream().map(VocabFiles.Vector::text).toList());
        while (text.length() < 4096) text = text + "\n" + text;
        int[] ids = t.encode(text, true, false);
        long t2 = System.nanoTime();
        for (int i = 0; i < 5; i++) t.encode(text, true, false);
        long t3 = System.nanoTime();
        System.out.printf("[tokenizer] llama-bpe: GGUF metadata read %.0f ms, tokenizer built %.0f ms (128256 tokens, 280147 merges); encode %d chars -> %d tokens: first %.1f ms, then %.2f ms%n",
                (tRead - t0) / 1e6, (t1 - tRead) / 1e6, text.length(), ids.length, (t2 - t1) / 1e6, (t3 - t2) / 5e6);
        assertEquals(t.bos(), ids[0]);
    }
}
