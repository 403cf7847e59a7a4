package dev.pipeinfer.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.tensor.MatmulActivations;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code pipeinfer bench} runs its tests and reports them; no timing is asserted (the machine is shared). */
class BenchCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String stories = TestData.model("stories260K.gguf").toString();

    @Test
    void jsonHasAPromptADecodeAndABatchRowPerSizeAndThreadCount() throws Exception {
        CommandRun run = CommandRun.of("bench", "--model", stories, "-p", "8", "-n", "4", "--batch", "1,4", "--repeat", "1",
                "--threads", "1,2", "--json");
        assertEquals(0, run.status(), run.err());
        JsonNode report = JSON.readTree(run.out());

        List<String> kinds = new ArrayList<>();
        for (JsonNode row : report.get("rows")) {
            kinds.add(row.get("test").asText() + "/" + row.get("threads").asInt() + "/" + row.get("n").asInt());
            assertTrue(row.get("tokens_per_s").asDouble() > 0, row.toString());
            assertTrue(row.get("ms_per_token").asDouble() > 0, row.toString());
            assertTrue(row.has("load_average"), row.toString());
            assertEquals(row.get("test").asText().equals("decode"), row.has("gb_per_s"), "GB/s is a decode figure: " + row);
            assertEquals(row.get("test").asText().equals("batch"), row.has("cost_vs1"), "cost is a batch figure: " + row);
        }
        assertEquals(List.of("prompt/1/8", "decode/1/4", "batch/1/1", "batch/1/4", "prompt/2/8", "decode/2/4", "batch/2/1", "batch/2/4"), kinds);
        assertEquals(1.0, report.get("rows").get(2).get("cost_vs1").asDouble(), "one token costs what one token costs");

        assertEquals(MatmulActivations.preferred().label(), report.get("activations").asText(), "auto: this CPU's faster mode");

        JsonNode memory = report.get("memory");
        // MODELS.json, stories260K: output 131072 + 5 layers x (q 16384 + k 8192 + v 8192 + o 16384 + 3 x 44032); the
        // embedding (131072) is only row-gathered and the 1-D norms are not matrices.
        assertEquals(131072 + 5 * (16384 + 8192 + 8192 + 16384 + 3 * 44032), memory.get("weight_bytes_per_token").asLong());
        assertEquals(1185376 - memory.get("mapped_weight_bytes").asLong() < 64 * 1024, true, "the tensors are nearly all of the file");
        // 5 layers x K and V x 16 cells (p = 8 < batch context 32 + 4) ... cells are the largest need: 36
        assertEquals(36, memory.get("context_cells").asInt());
        assertEquals(2L * 5 * 36 * 32 * 2, memory.get("kv_cache_bytes").asLong(), "F16 K and V rows of 32 values per layer and cell");
        for (String when : List.of("after_load", "after_run")) {
            JsonNode m = memory.get(when);
            assertTrue(m.get("rss_bytes").asLong() > 0 && m.get("heap_used_bytes").asLong() > 0, m.toString());
            assertTrue(m.get("model_rss_bytes").asLong() <= 1185376 + 4096, "only the model file's pages: " + m);
            assertTrue(m.get("model_rss_bytes").asLong() <= m.get("rss_file_bytes").asLong(), "the model's pages are file pages: " + m);
            assertTrue(m.get("rss_anon_bytes").asLong() + m.get("rss_file_bytes").asLong() <= m.get("rss_bytes").asLong(),
                    "VmRSS = RssAnon + RssFile + RssShmem: " + m);
        }
        assertTrue(memory.get("after_run").get("model_rss_bytes").asLong() >= 900_000, "decoding touched every weight: " + memory);
    }

    @Test
    void theTableHasOneLinePerRowAndTheMemoryLines() {
        CommandRun run = CommandRun.of("bench", "--model", stories, "-p", "4", "-n", "2", "--batch", "2", "--repeat", "1", "--threads", "1");
        assertEquals(0, run.status(), run.err());
        String out = run.out();
        assertTrue(out.contains("| test   | threads |"), out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("| prompt |       1 |    4 |")), out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("| decode |       1 |    2 |")), out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("| batch  |       1 |    2 |")), out);
        assertTrue(out.lines().noneMatch(l -> l.startsWith("| batch  |       1 |    1 |")), "size 1 is timed for the ratio but not listed: " + out);
        assertTrue(out.contains("after loading  RSS"), out);
        assertTrue(out.contains("after the run  RSS"), out);
    }

    @Test
    void withBandwidthEachDecodeRowIsHeldAgainstTheMachinesReadRate() throws Exception {
        CommandRun run = CommandRun.of("bench", "--model", stories, "-p", "4", "-n", "4", "--batch", "1", "--repeat", "1",
                "--threads", "1,2", "--bandwidth", "16", "--json");
        assertEquals(0, run.status(), run.err());
        int decodes = 0;
        for (JsonNode row : JSON.readTree(run.out()).get("rows")) {
            boolean decode = row.get("test").asText().equals("decode");
            assertEquals(decode, row.has("read_gb_per_s"), "the read rate goes with decode rows: " + row);
            if (!decode) continue;
            decodes++;
            double read = row.get("read_gb_per_s").asDouble();
            assertTrue(read > 0, row.toString());
            assertEquals(row.get("gb_per_s").asDouble() / read, row.get("bandwidth_share").asDouble(), 1e-12, row.toString());
        }
        assertEquals(2, decodes);

        CommandRun text = CommandRun.of("bench", "--model", stories, "-p", "0", "-n", "2", "--batch", "", "--repeat", "1",
                "--threads", "1", "--bandwidth", "16");
        assertEquals(0, text.status(), text.err());
        assertTrue(text.out().lines().anyMatch(l -> l.startsWith("decode, 1 thread: ") && l.contains("% of the read bandwidth")), text.out());
    }

    @Test
    void badListsAreRefusedWithStatusTwo() {
        CommandRun zeroThreads = CommandRun.of("bench", "--model", stories, "--threads", "1,0");
        assertEquals(2, zeroThreads.status());
        assertEquals("pipeinfer bench: --threads: every count must be at least 1, not 0", zeroThreads.err().strip());

        CommandRun notANumber = CommandRun.of("bench", "--model", stories, "--batch", "1,four");
        assertEquals(2, notANumber.status());
        assertTrue(notANumber.err().contains("'four'"), notANumber.err());

        CommandRun zeroBatch = CommandRun.of("bench", "--model", stories, "--batch", "0,2");
        assertEquals(2, zeroBatch.status());
        assertEquals("pipeinfer bench: --batch: every size must be at least 1, not 0", zeroBatch.err().strip());

        CommandRun badActivations = CommandRun.of("bench", "--model", stories, "--activations", "int4");
        assertEquals(2, badActivations.status());
        assertEquals("pipeinfer bench: --activations must be auto, int8 or f32, not 'int4'", badActivations.err().strip());

        CommandRun noBuffer = CommandRun.of("bench", "--model", stories, "--bandwidth", "0");
        assertEquals(2, noBuffer.status());
        assertEquals("pipeinfer bench: --bandwidth must be at least 1 MiB, not 0", noBuffer.err().strip());

        CommandRun noRepeat = CommandRun.of("bench", "--model", stories, "--repeat", "0");
        assertEquals(2, noRepeat.status());
        assertTrue(noRepeat.err().contains("--repeat must be at least 1"), noRepeat.err());
    }
}
