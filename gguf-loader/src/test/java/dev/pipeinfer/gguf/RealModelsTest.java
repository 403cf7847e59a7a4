package dev.pipeinfer.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.gguf.testdata.TestData;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Every real GGUF file of the test data loads, and agrees with the independent index MODELS.json. */
class RealModelsTest {

    @TestFactory
    List<DynamicTest> everyModelMatchesModelsJson() throws Exception {
        Path root = TestData.widest("RealModelsTest");
        JsonNode index = new ObjectMapper().readTree(root.resolve("models/MODELS.json").toFile());
        List<DynamicTest> tests = new ArrayList<>();
        for (Path file : TestData.ggufFiles("models", "RealModelsTest")) {
            JsonNode entry = entryFor(index, file.getFileName().toString());
            // The two draft models (testdata README §7) are not in the index; they must still load.
            tests.add(DynamicTest.dynamicTest(file.getFileName().toString(), () -> {
                if (entry != null) checkAgainstIndex(file, entry);
                else loadsWithTensors(file);
            }));
        }
        assertFalse(tests.isEmpty());
        return tests;
    }

    @TestFactory
    List<DynamicTest> everyVocabularyFileLoads() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path file : TestData.ggufFiles("tokenizer", "RealModelsTest")) {
            tests.add(DynamicTest.dynamicTest(file.getFileName().toString(), () -> {
                try (GgufFile f = GgufFile.open(file)) {
                    String[] tokens = f.metadata().getStringArray("tokenizer.ggml.tokens");
                    assertTrue(tokens.length >= 1000, "a real vocabulary");
                    assertTrue(f.tensors().isEmpty(), "vocab-only files hold no tensors");
                }
            }));
        }
        return tests;
    }

    @Test
    void version1FileIsRefusedByName() {
        Path legacy = TestData.require("models/legacy/tinyllamas-stories-260k-f32.gguf");
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(legacy).close());
        assertEquals("header.version", e.field());
        assertTrue(e.getMessage().contains("unsupported GGUF version 1"), e.getMessage());
    }

    private static JsonNode entryFor(JsonNode index, String fileName) {
        for (Iterator<Map.Entry<String, JsonNode>> it = index.fields(); it.hasNext(); ) {
            JsonNode e = it.next().getValue();
            if (e.path("file").asText().equals(fileName)) return e;
        }
        return null;
    }

    private static void loadsWithTensors(Path file) throws Exception {
        try (GgufFile f = GgufFile.open(file)) {
            assertFalse(f.tensors().isEmpty());
            for (GgufTensor t : f.tensors()) assertEquals(t.byteSize(), t.data().byteSize());
        }
    }

    private static void checkAgainstIndex(Path file, JsonNode entry) throws Exception {
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(entry.get("gguf_version").asInt(), f.version());
            assertEquals(entry.get("size").asLong(), f.fileSize());
            GgufMetadata md = f.metadata();
            assertEquals(entry.get("arch").asText(), md.getString("general.architecture"));
            for (String group : List.of("hparams", "tokenizer")) {
                for (Iterator<Map.Entry<String, JsonNode>> it = entry.get(group).fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> kv = it.next();
                    checkValue(md, kv.getKey(), kv.getValue());
                }
            }
            JsonNode tensors = entry.get("tensors");
            assertEquals(tensors.size(), f.tensors().size(), "tensor count");
            for (int i = 0; i < tensors.size(); i++) {
                JsonNode t = tensors.get(i);
                GgufTensor actual = f.tensors().get(i);
                assertEquals(t.get("name").asText(), actual.name());
                assertEquals(t.get("type").asText(), actual.type().name(), actual.name());
                long[] ne = new long[t.get("ne").size()];
                for (int d = 0; d < ne.length; d++) ne[d] = t.get("ne").get(d).asLong();
                assertArrayEquals(ne, actual.shape(), actual.name());
                assertEquals(t.get("nbytes").asLong(), actual.byteSize(), actual.name());
                assertEquals(actual.byteSize(), actual.data().byteSize());
            }
        }
    }

    private static void checkValue(GgufMetadata md, String key, JsonNode expected) {
        assertTrue(md.contains(key), "missing key " + key);
        GgufValue v = md.get(key);
        if (expected.isTextual() && expected.asText().matches("\\[\\d+ items]")) {
            int n = Integer.parseInt(expected.asText().replaceAll("\\D", ""));
            assertEquals(n, md.getArray(key).length(), key);
        } else if (expected.isTextual()) {
            assertEquals(expected.asText(), md.getString(key), key);
        } else if (expected.isBoolean()) {
            assertEquals(expected.asBoolean(), md.getBoolean(key), key);
        } else if (expected.isIntegralNumber()) {
            assertEquals(expected.asLong(), md.getLong(key), key);
        } else if (expected.isFloatingPointNumber()) {
            assertEquals((float) expected.asDouble(), md.getFloat(key), key);
        } else if (expected.isArray()) {
            assertEquals(expected.size(), md.getArray(key).length(), key);
        } else {
            throw new AssertionError("unexpected JSON for " + key + ": " + expected + " (" + v + ")");
        }
    }
}
