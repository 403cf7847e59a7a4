package dev.pipeinfer.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.pipeline.StageStats;
import dev.pipeinfer.speculation.DraftModel;
import dev.pipeinfer.speculation.GenerationRequest;
import dev.pipeinfer.speculation.GenerationResult;
import dev.pipeinfer.speculation.SpeculationParams;
import dev.pipeinfer.speculation.SpeculativeDecoder;
import dev.pipeinfer.speculation.TokenListener;
import dev.pipeinfer.transformer.sampling.SamplingParams;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Timeout;

/**
 * Early cancellation at work, over links with 2 ms of latency: with the Q4_0 draft some speculation is wrong, pipeinfer cancels the runs
 * built on it, the stages skip them (the last stage executes fewer runs than were launched), and the text
 * and the final KV caches are still exactly those of plain decoding.
 */
class CancellationEffectTest {

    @Timeout(60)
    @ParameterizedTest(name = "{0} stages, {1}")
    @CsvSource({"3, memory", "2, tcp"})
    void wrongSpeculationIsCancelledAndSkipped(int stages, String transport) throws Exception {
        var ref = new ObjectMapper().readTree(TestData.require("refs/stories260K/p1.long.json").toFile());
        int[] expected = new ObjectMapper().convertValue(ref.get("greedy_tokens"), int[].class);
        int[] prompt = {1, 403, 407, 261, 378};
        StageOptions options = SpeculativeEquivalenceTest.stageOptions(stages, transport);
        options.linkLatencyMillis = 2; // a cluster-like interconnect: results take long enough for speculation to run ahead
        try (TargetPipeline t = TargetPipeline.open(TestData.model("stories260K.gguf"), options, s -> { });
             DraftModel draft = DraftModel.open(TestData.model("stories260K-Q4_0.gguf"), t.file(),
                     TargetPipeline.sliceOptions(options.ctx, options.kvType, options.activations), 1)) {
            // A low cutoff keeps several runs in flight, so a rejection has runs to cancel.
            SpeculationParams params = SpeculationParams.defaults().withDraftMax(4).withBranches(2).withCutoffs(0.05f, 0.3f, 0f, 0.5f);
            GenerationResult r = SpeculativeDecoder.pipeinfer(t.head(), draft, params)
                    .generate(new GenerationRequest(prompt, expected.length, SamplingParams.greedy(), x -> false), TokenListener.NONE);
            assertArrayEquals(expected, r.tokens());
            var m = r.metrics();
            assertTrue(m.runsCancelled() > 0, "runs cancelled: " + m.runsCancelled());
            assertTrue(m.acceptanceRate() > 0 && m.acceptanceRate() < 1, "acceptance " + m.acceptanceRate());

            List<StageStats> stats = t.pipeline().stats();
            StageStats last = stats.getLast();
            long prompts = 1;
            assertTrue(last.runsExecuted() < m.runsLaunched() + prompts,
                    "the last stage computed " + last.runsExecuted() + " of " + (m.runsLaunched() + prompts) + " runs");
            assertTrue(last.runsCancelled() > 0, "the last stage skipped runs: " + last);
            for (StageStats s : stats) {
                // every run reached every stage once, as a run or as its tombstone; the barrier that ends the
                // generation is neither
                assertEquals(m.runsLaunched() + prompts, s.runsExecuted() + s.runsCancelled(), s.toString());
                assertTrue(s.runsCancelled() <= m.runsCancelled(), "a stage skipped only runs the head cancelled: " + s);
            }
            assertEquals(SpeculativeEquivalenceTest.expectedLayout(prompt.length + expected.length - 1),
                    SpeculativeEquivalenceTest.kvLayout(t).getFirst());
            for (String stage : SpeculativeEquivalenceTest.kvLayout(t)) {
                assertEquals(SpeculativeEquivalenceTest.expectedLayout(prompt.length + expected.length - 1), stage);
            }
        }
    }
}
