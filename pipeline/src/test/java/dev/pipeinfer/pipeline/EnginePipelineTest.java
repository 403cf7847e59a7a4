package dev.pipeinfer.pipeline;

import dev.pipeinfer.pipeline.engine.Stories260K;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real engine through in-memory pipelines: every split of stories260K continues "Once upon a time"
 * exactly as llama.cpp does (DESIGN section 3, batch invariance), with and without speculative runs,
 * cancellations and KV edits interleaved.
 */
class EnginePipelineTest {
    static Stories260K model;

    @BeforeAll
    static void load() throws Exception {
        model = new Stories260K();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @ParameterizedTest(name = "{0} stage(s), speculative noise: {1}")
    @CsvSource({"1, false", "2, false", "5, false", "1, true", "3, true"})
    void everySplitReproducesLlamaCppsGreedyContinuation(int stages, boolean speculate) throws Exception {
        if (stages > model.config.layers()) stages = model.config.layers();
        int[] tokens;
        try (Pipeline pipeline = Pipeline.inMemory(model.stages(stages), new Pipeline.Options(4, Duration.ofSeconds(60)))) {
            tokens = model.greedy(pipeline, model.expected.length, speculate);
            if (speculate) {
                long cancelled = pipeline.stats().getFirst().runsCancelled();
                System.out.println(stages + " stages: " + cancelled + " speculative runs cancelled at stage 0");
            }
        }
        assertEquals(128, tokens.length);
        assertArrayEquals(model.expected, tokens);
    }

    @Test
    void stagesWarmingUpAsThePipelineStartsStillGiveLlamaCppsTokens() throws Exception {
        for (int attempt = 0; attempt < 3; attempt++) { // edits and the first runs meet the warm-ups at different points
            List<LayerSliceCompute> stages = model.stages(3);
            for (LayerSliceCompute stage : stages) stage.warmUpWhileIdle();
            int[] tokens;
            try (Pipeline pipeline = Pipeline.inMemory(stages, new Pipeline.Options(4, Duration.ofSeconds(60)))) {
                tokens = model.greedy(pipeline, 48, true);
            }
            assertArrayEquals(java.util.Arrays.copyOf(model.expected, 48), tokens);
            for (LayerSliceCompute stage : stages) assertFalse(stage.warmingUp(), "the first run ended the warm-up");
        }
    }

    @Test
    void aRunCancelledBetweenLayersOfTheEngineLeavesTheAcceptedTextIntact() throws Exception {
        List<StageCompute> stages = new ArrayList<>(model.stages(2));
        Pipeline[] holder = new Pipeline[1];
        stages.set(1, Stories260K.cancellingMidRun(stages.get(1), id -> holder[0].cancel(id)));
        List<Message> speculative = new ArrayList<>();
        int[] tokens;
        try (Pipeline pipeline = Pipeline.inMemory(stages, new Pipeline.Options(4, Duration.ofSeconds(60)))) {
            holder[0] = pipeline;
            tokens = model.greedy(pipeline, 64, true, speculative);
        }
        assertArrayEquals(java.util.Arrays.copyOf(model.expected, 64), tokens);
        long stoppedInStage1 = speculative.stream()
                .filter(m -> m instanceof Message.Cancelled c && c.droppedAtStage() == 1).count();
        long completed = speculative.stream().filter(m -> m instanceof Result).count();
        assertTrue(stoppedInStage1 >= 10, "runs stopped between layers of stage 1: " + stoppedInStage1);
        assertTrue(completed >= 10, "speculative runs that completed: " + completed);
    }
}
