package dev.pipeinfer.transformer.tokenizer;

import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * llama.cpp's own tokenizer test vectors ({@code test-tokenizer-0}): for every string of
 * {@code ggml-vocab-*.gguf.inp}, encoding without BOS and without special-token parsing gives exactly the
 * ids on the matching line of {@code .out}.
 */
class LlamaCppTokenizerVectorsTest {

    @TestFactory
    Stream<DynamicContainer> everyStringOfEveryVocabularyTokenizesAsLlamaCpp() {
        return VocabFiles.LLAMA_CPP_VOCABS.stream().map(vocab -> DynamicContainer.dynamicContainer(vocab,
                VocabFiles.vectors(vocab).stream().map(v -> DynamicTest.dynamicTest(
                        "#" + v.index() + " " + VocabFiles.show(v.text()),
                        () -> {
                            int[] actual = VocabFiles.tokenizer(vocab).encode(v.text(), false, false);
                            assertArrayEquals(v.expected(), actual, () -> vocab + " " + VocabFiles.show(v.text())
                                    + "\n expected " + Arrays.toString(v.expected()) + "\n actual   " + Arrays.toString(actual));
                        }))));
    }
}
