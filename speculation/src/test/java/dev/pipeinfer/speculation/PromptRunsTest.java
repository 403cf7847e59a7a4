package dev.pipeinfer.speculation;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * How a prompt is cut into runs: whole runs of 64 on one node; over a pipeline, a short prompt into about two
 * runs per stage so that the stages work side by side, but never runs under 8 tokens.
 */
class PromptRunsTest {
    @Test
    void oneStageTakesThePromptInRunsOf64() {
        assertEquals(64, PromptRuns.chunkSize(40, 1));
        assertEquals(64, PromptRuns.chunkSize(1000, 1));
    }

    @Test
    void aPipelineSplitsAShortPromptIntoAboutTwoRunsPerStage() {
        assertEquals(10, PromptRuns.chunkSize(40, 2)); // 4 runs
        assertEquals(11, PromptRuns.chunkSize(41, 2)); // 4 runs, the last of 8
        assertEquals(9, PromptRuns.chunkSize(50, 3)); // 6 runs
    }

    @Test
    void runsStayBetween8And64Tokens() {
        assertEquals(8, PromptRuns.chunkSize(20, 2));
        assertEquals(8, PromptRuns.chunkSize(3, 4));
        assertEquals(64, PromptRuns.chunkSize(512, 2));
        assertEquals(64, PromptRuns.chunkSize(4096, 8));
    }
}
