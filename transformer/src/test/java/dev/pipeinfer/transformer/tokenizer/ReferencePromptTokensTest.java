package dev.pipeinfer.transformer.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.gguf.testdata.TestData;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The llama.cpp reference runs ({@code refs/<model>/p1.json}, {@code p2.json}, format llref-v1) over the widest
 * test data set. For each: the prompt tokenizes to {@code prompt_tokens} (BOS added as the vocabulary says,
 * special texts not parsed); each prompt token's piece with specials rendered is {@code prompt_pieces[i]};
 * each generated token's piece has exactly the bytes {@code greedy_pieces_hex[i]}; and streaming the
 * generated tokens prints {@code greedy_text_hex} (their pieces without special tokens, concatenated) as text.
 */
class ReferencePromptTokensTest {

    @TestFactory
    Stream<DynamicContainer> everyReferencePromptMatchesLlamaCpp() throws IOException {
        Path root = TestData.widest(getClass().getSimpleName());
        List<Path> refs = new ArrayList<>();
        try (Stream<Path> models = Files.list(root.resolve("refs"))) {
            for (Path dir : models.filter(Files::isDirectory).sorted().toList()) {
                for (String prompt : List.of("p1.json", "p2.json")) {
                    if (Files.exists(dir.resolve(prompt))) refs.add(dir.resolve(prompt));
                }
            }
        }
        ObjectMapper json = new ObjectMapper();
        return refs.stream().map(ref -> {
            JsonNode r = read(json, ref);
            String name = ref.getParent().getFileName() + "/" + ref.getFileName();
            Path model = root.resolve("models").resolve(r.get("model").asText());
            return DynamicContainer.dynamicContainer(name, List.of(
                    DynamicTest.dynamicTest("prompt_tokens", () -> {
                        int[] expected = ints(r.get("prompt_tokens"));
                        int[] actual = VocabFiles.tokenizer(model).encode(r.get("prompt_text").asText(), true, false);
                        assertArrayEquals(expected, actual, () -> name + "\n expected " + Arrays.toString(expected)
                                + "\n actual   " + Arrays.toString(actual));
                    }),
                    DynamicTest.dynamicTest("prompt_pieces", () -> {
                        Tokenizer t = VocabFiles.tokenizer(model);
                        int[] tokens = ints(r.get("prompt_tokens"));
                        for (int i = 0; i < tokens.length; i++) {
                            String piece = new String(t.piece(tokens[i], true), StandardCharsets.UTF_8);
                            assertEquals(r.get("prompt_pieces").get(i).asText(), piece, name + " prompt token " + i);
                        }
                    }),
                    DynamicTest.dynamicTest("greedy_pieces_hex", () -> {
                        Tokenizer t = VocabFiles.tokenizer(model);
                        int[] tokens = ints(r.get("greedy_tokens"));
                        for (int i = 0; i < tokens.length; i++) {
                            String hex = HexFormat.of().formatHex(t.piece(tokens[i], true));
                            assertEquals(r.get("greedy_pieces_hex").get(i).asText(), hex, name + " greedy token " + i + " = " + tokens[i]);
                        }
                    }),
                    DynamicTest.dynamicTest("streaming the greedy tokens prints greedy_text_hex as text", () -> {
                        StreamingDecoder decoder = new StreamingDecoder(VocabFiles.tokenizer(model));
                        StringBuilder printed = new StringBuilder();
                        for (int token : ints(r.get("greedy_tokens"))) printed.append(decoder.accept(token));
                        printed.append(decoder.finish());
                        byte[] bytes = HexFormat.of().parseHex(r.get("greedy_text_hex").asText());
                        // Invalid UTF-8 becomes one U+FFFD per maximal invalid subsequence (Unicode's recommended
                        // practice, as Java's decoder). greedy_text itself replaces per byte, which is a property of
                        // how the reference file was written, not of llama.cpp, so it is not compared.
                        assertEquals(new String(bytes, StandardCharsets.UTF_8), printed.toString(), name);
                    })));
        });
    }

    private static JsonNode read(ObjectMapper json, Path ref) {
        try {
            JsonNode r = json.readTree(ref.toFile());
            assertEquals("llref-v1", r.get("format").asText(), ref.toString());
            return r;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
