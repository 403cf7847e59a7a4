package dev.pipeinfer.transformer.tokenizer;

import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Decoding what was encoded gives the text back, where llama.cpp's {@code llama_detokenize} does:
 * <ul>
 *   <li>SentencePiece: always for a sequence without BOS (the space encoding put in front is dropped from the
 *       first piece). After BOS that space stays, as in llama.cpp.</li>
 *   <li>Byte-level BPE: whenever the text has none of the patterns llama.cpp's space clean-up rewrites
 *       ({@code " ?"}, {@code " !"}, {@code " ."}, {@code " ,"}, and a space before an apostrophe).</li>
 * </ul>
 */
class RoundTripTest {

    /** Texts whose decoding llama.cpp's space clean-up changes (only applied by byte-level BPE vocabularies). */
    static boolean touchedBySpaceCleanup(String s) {
        return s.contains(" ?") || s.contains(" !") || s.contains(" .") || s.contains(" ,") || s.contains(" '");
    }

    @TestFactory
    Stream<DynamicContainer> decodingTheEncodingOfEveryTestStringGivesItBack() {
        return VocabFiles.LLAMA_CPP_VOCABS.stream().map(vocab -> {
            boolean bytePair = !vocab.contains("spm");
            return DynamicContainer.dynamicContainer(vocab, VocabFiles.vectors(vocab).stream()
                    .filter(v -> !(bytePair && touchedBySpaceCleanup(v.text())))
                    .map(v -> DynamicTest.dynamicTest("#" + v.index() + " " + VocabFiles.show(v.text()), () -> {
                        Tokenizer t = VocabFiles.tokenizer(vocab);
                        assertEquals(v.text(), t.decode(t.encode(v.text(), false, false)));
                    })));
        });
    }

    @Test
    void sentencePieceKeepsTheLeadingSpaceAfterBos() {
        Tokenizer spm = VocabFiles.tokenizer("ggml-vocab-llama-spm.gguf");
        for (VocabFiles.Vector v : VocabFiles.vectors("ggml-vocab-llama-spm.gguf")) {
            int[] ids = spm.encode(v.text(), true, false);
            String expected = v.text().isEmpty() ? "" : " " + v.text();
            assertEquals(expected, spm.decode(ids), VocabFiles.show(v.text()));
            assertEquals(expected, new String(spm.detokenize(ids, true, false), java.nio.charset.StandardCharsets.UTF_8));
        }
        // Rendering the special tokens shows BOS, still followed by the word's own space.
        assertEquals("<s> Hello world", new String(spm.detokenize(spm.encode("Hello world", true, false), false, true),
                java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void bytePairDecodingCleansSpacesAsLlamaCpp() {
        for (String vocab : List.of("ggml-vocab-gpt-2.gguf", "ggml-vocab-falcon.gguf", "ggml-vocab-llama-bpe.gguf")) {
            Tokenizer t = VocabFiles.tokenizer(vocab);
            // " ," " ." " ?" " !" lose the space; " ' " loses both; " 's" " 'm" " 're" " 've" lose it, " 't" " 'd" " 'll" keep it.
            assertEquals("Hello, world. Why? Yes! it's", t.decode(t.encode("Hello , world . Why ? Yes ! it ' s", false, false)), vocab);
            assertEquals("he's I'm we're they've don 't I 'd you 'll", t.decode(t.encode(
                    "he 's I 'm we 're they 've don 't I 'd you 'll", false, false)), vocab);
        }
        Tokenizer spm = VocabFiles.tokenizer("ggml-vocab-llama-spm.gguf");
        assertEquals("Hello , world .", spm.decode(spm.encode("Hello , world .", false, false)), "SentencePiece does not clean spaces");
    }

    @Test
    void theEmptySequenceDecodesToNothing() {
        for (String vocab : VocabFiles.LLAMA_CPP_VOCABS) assertEquals("", VocabFiles.tokenizer(vocab).decode(new int[0]));
    }
}
