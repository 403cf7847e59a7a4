package dev.pipeinfer.pipeline;

import dev.pipeinfer.pipeline.fake.FakeStageCompute;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Nothing is silent: a failing or stuck stage ends the head's wait with an error naming it. */
class FailureTest {
    static Run prompt() {
        return Run.ofTokens(new RunHeader(1, RunKind.PROMPT, new int[]{0, 1}, new long[]{1, 1}, new int[]{1},
                ResultForm.ARGMAX), new int[]{3, 4});
    }

    @Test
    void aStageWhoseComputeThrowsEndsTheWaitWithItsIndexAndReason() throws Exception {
        List<FakeStageCompute> stages = FakeStageCompute.chain(3, 2, 4, 8);
        stages.get(1).setHook((run, layer) -> {
            throw new IllegalStateException("tensor blk.3.attn_q.weight is missing");
        });
        try (Pipeline pipeline = Pipeline.inMemory(stages, new Pipeline.Options(2, Duration.ofSeconds(30)))) {
            pipeline.submit(prompt());
            StageFailureException e = assertThrows(StageFailureException.class, pipeline::next);
            assertEquals(1, e.stageIndex());
            assertTrue(e.getMessage().contains("blk.3.attn_q.weight is missing"), e.getMessage());
            assertTrue(e.getMessage().startsWith("stage 1 (local)"), e.getMessage());
            assertThrows(StageFailureException.class, () -> pipeline.submit(prompt()), "no more work after a failure");
        }
    }

    @Test
    void aSubmitBlockedBehindADeadFirstStageIsReleasedWithTheFailure() {
        List<FakeStageCompute> stages = FakeStageCompute.chain(2, 2, 4, 8);
        stages.get(0).setHook((run, layer) -> {
            throw new IllegalStateException("out of memory for the KV cache");
        });
        try (Pipeline pipeline = Pipeline.inMemory(stages, new Pipeline.Options(2, Duration.ofSeconds(30)))) {
            StageFailureException e = assertThrows(StageFailureException.class, () -> {
                for (long id = 1; id < 1000; id++) {
                    pipeline.submit(Run.ofTokens(new RunHeader(id, RunKind.STEP, new int[]{0}, new long[]{1}, new int[]{0},
                            ResultForm.ARGMAX), new int[]{1}));
                }
            });
            assertEquals(0, e.stageIndex());
            assertTrue(e.getMessage().contains("out of memory for the KV cache"), e.getMessage());
        }
    }

    @Test
    void aStageStuckInOneRunLongerThanTheStageTimeoutIsReportedAsStalled() throws Exception {
        List<FakeStageCompute> stages = FakeStageCompute.chain(2, 2, 4, 8);
        CountDownLatch never = new CountDownLatch(1);
        stages.get(1).setHook((run, layer) -> never.await());
        try (Pipeline pipeline = Pipeline.inMemory(stages, new Pipeline.Options(2, Duration.ofMillis(200)))) {
            try {
                pipeline.submit(prompt());
                StageFailureException e = assertThrows(StageFailureException.class, pipeline::next);
                assertEquals(1, e.stageIndex());
                assertTrue(e.getMessage().contains("stalled"), e.getMessage());
            } finally {
                never.countDown(); // the stuck run may end now, so closing its stage does not wait for it
            }
        }
    }

    @Test
    void aBrokenLinkIntoStageOneIsNamedThereNotAtTheFirstStageTheHeadThenStopped() throws Exception {
        // As when the connection from the head to worker 1 drops: worker 1 reports that its input ended;
        // the failure closes the submit stream, so stage 0 stops too, but only as a consequence.
        List<FakeStageCompute> computes = FakeStageCompute.chain(2, 2, 4, 8);
        FailureLatch failures = new FailureLatch();
        ActivationPool pool = new ActivationPool(8);
        Link submit = new InMemoryLink("head->0", 2), middle = new InMemoryLink("0->1", 2),
                results = new InMemoryLink("1->head", 2);
        Stage first = new Stage(0, "local", computes.get(0), submit, middle, pool, failures::report);
        Stage second = new Stage(1, "worker-1:7070", computes.get(1), middle, results, pool, failures::report);
        List<StageControl> controls = List.of(new LocalStageControl(first), new LocalStageControl(second));
        first.start();
        second.start();
        try (Pipeline pipeline = new Pipeline(submit, results, controls, List.of(first, second, submit, middle, results),
                failures, Duration.ofSeconds(30))) {
            middle.close();
            second.join();
            first.join();
            StageFailureException e = assertThrows(StageFailureException.class, pipeline::next);
            assertEquals(1, e.stageIndex(), e.getMessage());
            assertTrue(e.getMessage().startsWith("stage 1 (worker-1:7070): " + Stage.INPUT_ENDED), e.getMessage());
        }
    }
}
