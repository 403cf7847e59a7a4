package dev.pipeinfer.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.gguf.testdata.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line of speculation: --draft and --mode on generation, the metrics files, bench-modes, refusals. */
class SpeculationCommandTest {
    private static final String STORIES = TestData.model("stories260K.gguf").toString();
    private static final String DRAFT = TestData.model("stories260K-Q4_0.gguf").toString();

    @Test
    void withADraftGenerationDefaultsToPipeinferAndWritesItsMetrics(@TempDir Path dir) throws Exception {
        Path metrics = dir.resolve("m.json");
        CommandRun r = CommandRun.of("--model", STORIES, "--draft", DRAFT, "--prompt", "Once upon a time", "-n", "24",
                "--temp", "0", "--local-stages", "2", "--metrics-json", metrics.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith(", there was a little girl named Lily"), r.out());
        assertTrue(r.err().contains("acceptance"), r.err());
        JsonNode m = new ObjectMapper().readTree(Files.readString(metrics));
        assertEquals("pipeinfer", m.get("mode").asText());
        assertEquals(24, m.get("generated_tokens").asInt());
        for (String key : new String[] {"generated_tokens_per_s", "ttft_ms", "itl_ms_mean", "itl_ms_p50", "itl_ms_p95",
                "acceptance_rate", "runs_launched", "runs_cancelled", "cancelled_compute_ms", "bytes_per_token", "draft_ms"}) {
            assertTrue(m.has(key), key);
        }
        assertTrue(m.get("drafted_tokens").asInt() > 0);
    }

    @Test
    void everyModeGivesTheSameGreedyText() {
        String text = null;
        for (String mode : new String[] {"iterative", "speculative", "pipeinfer"}) {
            CommandRun r = CommandRun.of("--model", STORIES, "--draft", DRAFT, "--mode", mode, "--prompt", "Once upon a time",
                    "-n", "32", "--temp", "0", "--json");
            assertEquals(0, r.status(), r.err());
            String tokens = r.out().replaceAll("(?s).*\"generated_tokens\":(\\[[^]]*]).*", "$1");
            if (text == null) text = tokens;
            assertEquals(text, tokens, mode);
            assertTrue(r.out().contains("\"mode\":\"" + mode + "\""), r.out());
        }
        CommandRun f32 = CommandRun.of("--model", STORIES, "--prompt", "Once", "-n", "2", "--activations", "f32", "--json");
        assertTrue(f32.out().contains("\"activations\":\"f32\""), "the mode that ran is in the JSON: " + f32.out());
    }

    @Test
    void benchModesPrintsOneRowPerModeAsJson() throws Exception {
        CommandRun r = CommandRun.of("bench-modes", "--model", STORIES, "--draft", DRAFT, "-n", "16", "--repeat", "1",
                "--local-stages", "2", "--link-latency", "0.2", "--warm-up", "0", "--json");
        assertEquals(0, r.status(), r.err());
        JsonNode modes = new ObjectMapper().readTree(r.out()).get("modes");
        assertEquals(3, modes.size());
        assertEquals("iterative", modes.get(0).get("mode").asText());
        assertEquals("pipeinfer", modes.get(2).get("mode").asText());
        assertEquals(1.0, modes.get(0).get("speedup_vs_iterative").asDouble());
        assertEquals(16, modes.get(2).get("generated_tokens").asInt());
        for (JsonNode mode : modes) {
            assertTrue(mode.get("process_cpu_ms").asDouble() >= 0, mode.toString());
            // CPU over wall time of the same runs: at most every core busy, give or take the OS's CPU clock
            // ticks (10 ms, read twice), which weigh heavily on runs of a few milliseconds
            double cores = mode.get("process_cores").asDouble();
            double wallMs = mode.get("repeats").asDouble() * mode.get("total_ms").asDouble();
            assertTrue(cores >= 0 && cores <= Runtime.getRuntime().availableProcessors() + 20 / wallMs, mode.toString());
        }
    }

    @Test
    void aDraftWithAnotherVocabularyIsRefusedNamingBothFiles() {
        String falcon = TestData.model("synth-falcon7b-Q8_0.gguf").toString();
        CommandRun r = CommandRun.of("--model", falcon, "--draft", DRAFT, "--prompt", "Hello", "-n", "4");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains(DRAFT) && r.err().contains(falcon) && r.err().contains("vocabular"), r.err());
    }

    @Test
    void speculativeModesNeedADraft() {
        CommandRun r = CommandRun.of("--model", STORIES, "--mode", "pipeinfer", "--prompt", "Hello", "-n", "4");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("--draft"), r.err());
    }
}
