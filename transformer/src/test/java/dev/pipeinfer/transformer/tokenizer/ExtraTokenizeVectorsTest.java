package dev.pipeinfer.transformer.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.gguf.testdata.TestData;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code tokenizer/extra-tokenize.json} (tokvec-v1), made with {@code llama-tokenize}: special-token texts,
 * control characters, CJK, emoji, code and the empty string, for six vocabularies, in two modes:
 * "default" = BOS if the vocabulary adds one, special-token texts parsed; "plain" = neither.
 */
class ExtraTokenizeVectorsTest {

    @TestFactory
    Stream<DynamicContainer> everyStringInBothModesTokenizesAsLlamaTokenize() throws IOException {
        Path file = TestData.find("tokenizer/extra-tokenize.json").orElseThrow();
        JsonNode root = new ObjectMapper().readTree(file.toFile());
        assertEquals("tokvec-v1", root.get("format").asText());
        JsonNode strings = root.get("strings");
        List<DynamicContainer> perVocab = new ArrayList<>();
        root.get("vocabs").properties().forEach(entry -> {
            String vocab = entry.getKey();
            JsonNode cases = entry.getValue();
            assertEquals(strings.size(), cases.size(), vocab + ": one entry per string");
            List<DynamicNode> tests = new ArrayList<>();
            for (int i = 0; i < strings.size(); i++) {
                String text = strings.get(i).asText();
                tests.add(check(vocab, i, text, "default", true, true, ids(cases.get(i).get("default"))));
                tests.add(check(vocab, i, text, "plain", false, false, ids(cases.get(i).get("plain"))));
            }
            perVocab.add(DynamicContainer.dynamicContainer(vocab + " (from " + VocabFiles.path(vocab).getFileName() + ")", tests));
        });
        return perVocab.stream();
    }

    private static DynamicTest check(String vocab, int index, String text, String mode,
                                     boolean addSpecial, boolean parseSpecial, int[] expected) {
        return DynamicTest.dynamicTest("#" + index + " " + mode + " " + VocabFiles.show(text), () -> {
            int[] actual = VocabFiles.tokenizer(vocab).encode(text, addSpecial, parseSpecial);
            assertArrayEquals(expected, actual, () -> vocab + " " + mode + " " + VocabFiles.show(text)
                    + "\n expected " + Arrays.toString(expected) + "\n actual   " + Arrays.toString(actual));
        });
    }

    private static int[] ids(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = array.get(i).asInt();
        return ids;
    }
}
