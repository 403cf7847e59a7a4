package dev.pipeinfer.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.gguf.testdata.TestData;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/** {@code pipeinfer inspect}, run in-process through {@link Main#run(PrintWriter, PrintWriter, String...)}. */
class InspectCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** Exit status and everything printed. */
    record Run(int status, String out, String err) {}

    static Run pipeinfer(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int status = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void showsStories260KAsMODELSJsonDescribesIt() throws IOException {
        JsonNode expected = indexEntry("stories260K.gguf");
        Run run = pipeinfer("inspect", TestData.model("stories260K.gguf").toString());
        assertEquals(0, run.status(), run.err());
        assertEquals("", run.err());
        String out = run.out();
        JsonNode hp = expected.get("hparams");
        assertLine(out, "gguf version", "3");
        assertLine(out, "architecture", "llama");
        assertLine(out, "parameters", String.format(java.util.Locale.ROOT, "%,d", parameterCount(expected)));
        assertLine(out, "file type", "- (general.file_type not set)");
        assertLine(out, "tensors", String.valueOf(expected.get("tensors").size()));
        assertLine(out, "F32", "48 tensors, 1,171,200 bytes, 1.1 MiB");
        assertLine(out, "blocks", hp.get("llama.block_count").asText());
        assertLine(out, "context length", hp.get("llama.context_length").asText());
        assertLine(out, "embedding size", hp.get("llama.embedding_length").asText());
        assertLine(out, "feed-forward", hp.get("llama.feed_forward_length").asText());
        assertLine(out, "heads", hp.get("llama.attention.head_count").asText() + " (KV heads "
                + hp.get("llama.attention.head_count_kv").asText() + ")");
        assertLine(out, "vocabulary", expected.get("n_vocab").asText() + " (tokenizer llama)");
        assertTrue(out.contains("(" + String.format(java.util.Locale.ROOT, "%,d", expected.get("size").asLong()) + " bytes"), out);
    }

    /** Every model of the widest set: the JSON report against MODELS.json, field by field. */
    @TestFactory
    List<DynamicTest> jsonReportAgreesWithMODELSJsonForEveryModel() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path model : TestData.ggufFiles("models", "InspectCommandTest")) {
            JsonNode expected = indexEntry(model.getFileName().toString());
            if (expected == null) continue; // the draft models are not in the index
            tests.add(DynamicTest.dynamicTest(model.getFileName().toString(), () -> {
                Run run = pipeinfer("inspect", "--json", model.toString());
                assertEquals(0, run.status(), run.err());
                JsonNode r = JSON.readTree(run.out());
                String arch = expected.get("arch").asText();
                JsonNode hp = expected.get("hparams");
                assertEquals(expected.get("size").asLong(), r.get("file_size").asLong());
                assertEquals(expected.get("gguf_version").asInt(), r.get("gguf_version").asInt());
                assertEquals(arch, r.get("architecture").asText());
                assertEquals(hp.get("general.name").asText(), r.get("name").asText());
                assertEquals(parameterCount(expected), r.get("parameter_count").asLong());
                assertEquals(expected.get("tensors").size(), r.get("tensor_count").asInt());
                Map<String, Long> bytesPerType = new HashMap<>();
                for (JsonNode t : expected.get("tensors")) bytesPerType.merge(t.get("type").asText(), t.get("nbytes").asLong(), Long::sum);
                assertEquals(bytesPerType.size(), r.get("tensor_types").size());
                bytesPerType.forEach((type, bytes) -> assertEquals(bytes, r.get("tensor_types").get(type).get("bytes").asLong(), type));
                if (hp.has("general.file_type")) {
                    String variant = expected.get("variant").asText();
                    assertEquals(variant.equals("F32") ? "ALL_F32" : "MOSTLY_" + variant, r.get("file_type").asText());
                    assertEquals(hp.get("general.file_type").asLong(), r.get("file_type_id").asLong());
                } else {
                    assertFalse(r.has("file_type"));
                }
                assertEquals(hp.get(arch + ".block_count").asLong(), r.get("block_count").asLong());
                assertEquals(hp.get(arch + ".context_length").asLong(), r.get("context_length").asLong());
                assertEquals(hp.get(arch + ".embedding_length").asLong(), r.get("embedding_length").asLong());
                assertEquals(hp.get(arch + ".feed_forward_length").asLong(), r.get("feed_forward_length").asLong());
                assertEquals(hp.get(arch + ".attention.head_count").asLong(), r.get("head_count").asLong());
                assertEquals(hp.path(arch + ".attention.head_count_kv").asLong(1), r.path("head_count_kv").asLong(1));
                assertEquals(expected.get("n_vocab").asLong(), r.get("vocab_size").asLong());
                assertEquals(expected.get("tokenizer").get("tokenizer.ggml.model").asText(), r.get("tokenizer_model").asText());
                assertFalse(r.has("tensors"), "the tensor list only with --tensors");
            }));
        }
        assertFalse(tests.isEmpty());
        return tests;
    }

    @Test
    void tensorsListsNameTypeShapeAndOffset() throws IOException {
        Path model = TestData.model("synth-llama-Q4_K_M.gguf");
        JsonNode expected = indexEntry("synth-llama-Q4_K_M.gguf").get("tensors");
        Run text = pipeinfer("inspect", "--tensors", model.toString());
        assertEquals(0, text.status(), text.err());
        JsonNode first = expected.get(0);
        String firstRow = text.out().lines().filter(l -> l.startsWith(first.get("name").asText() + " ")).findFirst().orElseThrow();
        assertEquals(List.of(first.get("name").asText(), first.get("type").asText(), "256", "x", "512", "0",
                first.get("nbytes").asText()), List.of(firstRow.trim().split(" +")));

        JsonNode json = JSON.readTree(pipeinfer("inspect", "--tensors", "--json", model.toString()).out());
        JsonNode rows = json.get("tensors");
        assertEquals(expected.size(), rows.size());
        long previousEnd = 0;
        for (int i = 0; i < rows.size(); i++) {
            JsonNode row = rows.get(i), want = expected.get(i);
            assertEquals(want.get("name"), row.get("name"));
            assertEquals(want.get("type"), row.get("type"));
            assertEquals(want.get("ne"), row.get("shape"));
            assertEquals(want.get("nbytes").asLong(), row.get("bytes").asLong());
            assertTrue(row.get("offset").asLong() >= previousEnd, "standard layout: in table order");
            assertEquals(0, row.get("offset").asLong() % 32);
            previousEnd = row.get("offset").asLong() + row.get("bytes").asLong();
        }
    }

    @Test
    void aTruncatedFileExitsWithStatus2AndOneLine() throws IOException {
        Path cut = dir.resolve("cut.gguf");
        byte[] bytes = Files.readAllBytes(TestData.model("stories260K.gguf"));
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length - 1000));
        Run run = pipeinfer("inspect", cut.toString());
        assertEquals(2, run.status());
        assertEquals("", run.out());
        assertEquals(1, run.err().lines().count(), run.err());
        assertTrue(run.err().startsWith("pipeinfer inspect: " + cut + ": tensor["), run.err());
        assertTrue(run.err().contains("extends beyond the end of the file (" + (bytes.length - 1000) + " bytes)"), run.err());
    }

    @Test
    void aMissingFileExitsWithStatus2AndOneLine() {
        Path missing = dir.resolve("no-such-model.gguf");
        Run run = pipeinfer("inspect", missing.toString());
        assertEquals(2, run.status());
        assertEquals("pipeinfer inspect: " + missing + ": no such file" + System.lineSeparator(), run.err());
        Run directory = pipeinfer("inspect", dir.toString());
        assertEquals(2, directory.status());
        assertEquals("pipeinfer inspect: " + dir + ": is a directory, not a GGUF file" + System.lineSeparator(), directory.err());
    }

    @Test
    void anEmptyFileAndAVersion1FileAreRefusedByName() throws IOException {
        Path empty = Files.createFile(dir.resolve("empty.gguf"));
        Run run = pipeinfer("inspect", empty.toString());
        assertEquals(2, run.status());
        assertEquals("pipeinfer inspect: " + empty + ": header.magic (byte 0): not a GGUF file: expected the magic bytes"
                + " 'GGUF', the file is only 0 bytes long" + System.lineSeparator(), run.err());
        Path legacy = TestData.require("models/legacy/tinyllamas-stories-260k-f32.gguf");
        Run v1 = pipeinfer("inspect", legacy.toString());
        assertEquals(2, v1.status());
        assertTrue(v1.err().startsWith("pipeinfer inspect: " + legacy + ": header.version (byte 4): unsupported GGUF version 1;"), v1.err());
    }

    @Test
    void debugAddsTheStackTrace() throws IOException {
        Path notGguf = dir.resolve("notes.txt");
        Files.writeString(notGguf, "hello, world");
        Run plain = pipeinfer("inspect", notGguf.toString());
        assertEquals(2, plain.status());
        assertEquals("pipeinfer inspect: " + notGguf + ": header.magic (byte 0): not a GGUF file: expected the magic bytes"
                + " 'GGUF', found 0x68656c6c" + System.lineSeparator(), plain.err());
        Run debug = pipeinfer("inspect", "--debug", notGguf.toString());
        assertEquals(2, debug.status());
        assertTrue(debug.err().startsWith(plain.err()), debug.err());
        assertTrue(debug.err().contains("\tat dev.pipeinfer.gguf.GgufParser"), debug.err());
    }

    @Test
    void helpTeachesWithAnExample() {
        Run help = pipeinfer("inspect", "--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("Usage: pipeinfer inspect"), help.out());
        assertTrue(help.out().contains("--tensors"), help.out());
        assertTrue(help.out().contains("pipeinfer inspect --json model.gguf"), help.out());
        Run top = pipeinfer("--help");
        assertTrue(top.out().contains("inspect"), top.out());
    }

    // ---- helpers ----

    private static void assertLine(String out, String label, String value) {
        String line = out.lines().filter(l -> l.trim().startsWith(label + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no line '" + label + "' in:\n" + out));
        assertEquals(value, line.trim().substring(label.length()).trim(), line);
    }

    private static long parameterCount(JsonNode entry) {
        long n = 0;
        for (JsonNode t : entry.get("tensors")) {
            long e = 1;
            for (JsonNode d : t.get("ne")) e *= d.asLong();
            n += e;
        }
        return n;
    }

    private static JsonNode index;

    private static synchronized JsonNode indexEntry(String fileName) throws IOException {
        if (index == null) index = JSON.readTree(TestData.widest("InspectCommandTest").resolve("models/MODELS.json").toFile());
        for (Iterator<JsonNode> it = index.elements(); it.hasNext(); ) {
            JsonNode e = it.next();
            if (e.path("file").asText().equals(fileName)) return e;
        }
        return null;
    }
}
