package dev.pipeinfer.pipeline;

import dev.pipeinfer.pipeline.fake.FakeModel;
import dev.pipeinfer.pipeline.fake.FakeStageCompute;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Early inference cancellation (DESIGN section 1, point 4): skip on arrival, stop at a layer boundary, tombstone. */
class CancellationTest {
    static final int LAYERS = 4, EMBD = 8, VOCAB = 16;
    static final Pipeline.Options OPTIONS = new Pipeline.Options(4, Duration.ofSeconds(30));

    static RunHeader header(long id, RunKind kind, int position, long sequences) {
        return new RunHeader(id, kind, new int[]{position}, new long[]{sequences}, new int[]{0}, ResultForm.topK(3));
    }

    static Run prompt() {
        return Run.ofTokens(new RunHeader(1, RunKind.PROMPT, new int[]{0, 1, 2}, new long[]{1, 1, 1}, new int[]{2},
                ResultForm.ARGMAX), new int[]{3, 4, 5});
    }

    @Test
    void aRunCancelledBeforeItArrivesIsSkippedEverywhereAndAnsweredWithATombstone() throws Exception {
        List<FakeStageCompute> stages = FakeStageCompute.chain(3, LAYERS, EMBD, VOCAB);
        FakeModel reference = new FakeModel(FakeStageCompute.chain(3, LAYERS, EMBD, VOCAB));
        try (Pipeline pipeline = Pipeline.inMemory(stages, OPTIONS)) {
            pipeline.submit(prompt());
            assertEquals(reference.apply(prompt()), pipeline.next());

            pipeline.cancel(2);
            pipeline.submit(Run.ofTokens(header(2, RunKind.SPECULATIVE, 3, 0b10), new int[]{9}));
            Run step = Run.ofTokens(header(3, RunKind.STEP, 3, 1), new int[]{7});
            pipeline.submit(step);

            Message.Cancelled tombstone = assertInstanceOf(Message.Cancelled.class, pipeline.next());
            assertEquals(2, tombstone.runId());
            assertEquals(0, tombstone.droppedAtStage(), "dropped by the first stage, before any compute");
            // The step after it sees a cache without run 2's cells: as if run 2 had never existed.
            assertEquals(reference.apply(step), pipeline.next());
            for (FakeStageCompute s : stages) assertEquals(List.of("run 1", "run 3"), s.events());
            for (StageStats s : pipeline.stats()) assertEquals(1, s.runsCancelled(), s.toString());
        }
    }

    @Test
    void aRunCancelledWhileUpstreamIsBusyIsSkippedWhenItArrives() throws Exception {
        List<FakeStageCompute> stages = FakeStageCompute.chain(3, LAYERS, EMBD, VOCAB);
        CountDownLatch holding = new CountDownLatch(1), release = new CountDownLatch(1);
        stages.get(1).setHook((run, layer) -> {
            if (run == 1 && layer == 0) {
                holding.countDown();
                release.await();
            }
        });
        try (Pipeline pipeline = Pipeline.inMemory(stages, OPTIONS)) {
            pipeline.submit(prompt());
            holding.await();
            pipeline.submit(Run.ofTokens(header(2, RunKind.SPECULATIVE, 3, 0b10), new int[]{9}));
            pipeline.cancel(2);
            release.countDown();

            assertInstanceOf(Result.class, pipeline.next());
            Message.Cancelled tombstone = assertInstanceOf(Message.Cancelled.class, pipeline.next());
            assertEquals(2, tombstone.runId());
            assertFalse(stages.get(2).events().contains("run 2"));
            assertFalse(stages.get(1).events().contains("run 2"));
        }
    }

    @Test
    void aRunCancelledMidComputeStopsAtTheNextLayerBoundary() throws Exception {
        List<FakeStageCompute> stages = FakeStageCompute.chain(3, LAYERS, EMBD, VOCAB);
        FakeModel reference = new FakeModel(FakeStageCompute.chain(3, LAYERS, EMBD, VOCAB));
        CountDownLatch inLayer2 = new CountDownLatch(1), release = new CountDownLatch(1);
        stages.get(1).setHook((run, layer) -> {
            if (run == 2 && layer == 2) {
                inLayer2.countDown();
                release.await();
            }
        });
        try (Pipeline pipeline = Pipeline.inMemory(stages, OPTIONS)) {
            pipeline.submit(prompt());
            assertEquals(reference.apply(prompt()), pipeline.next());

            pipeline.submit(Run.ofTokens(header(2, RunKind.SPECULATIVE, 3, 0b10), new int[]{9}));
            inLayer2.await();
            pipeline.cancel(2);
            release.countDown();

            Message.Cancelled tombstone = assertInstanceOf(Message.Cancelled.class, pipeline.next());
            assertEquals(2, tombstone.runId());
            assertEquals(1, tombstone.droppedAtStage());
            assertTrue(stages.get(0).events().contains("run 2"), "stage 0 had finished it");
            assertEquals(List.of("run 1", "cancel 2 before layer 3"), stages.get(1).events(),
                    "stage 1 finished the layer it was in and stopped before the next");
            assertEquals(List.of("run 1"), stages.get(2).events(), "stage 2 never saw it");

            // The head frees the cancelled run's cells (sequence 1); afterwards results are exact again.
            KvEdit free = KvEdit.of(new KvEdit.Remove(1, 0, Integer.MAX_VALUE));
            pipeline.send(free);
            reference.apply(free);
            Run step = Run.ofTokens(header(3, RunKind.STEP, 3, 1), new int[]{7});
            pipeline.submit(step);
            assertEquals(reference.apply(step), pipeline.next());
            StageStats middle = pipeline.stats().get(1);
            assertEquals(1, middle.runsCancelled());
            assertEquals(2, middle.runsExecuted());
        }
    }

    @Test
    void cancellingARunThatAlreadyFinishedChangesNothing() throws Exception {
        List<FakeStageCompute> stages = FakeStageCompute.chain(2, LAYERS, EMBD, VOCAB);
        FakeModel reference = new FakeModel(FakeStageCompute.chain(2, LAYERS, EMBD, VOCAB));
        try (Pipeline pipeline = Pipeline.inMemory(stages, OPTIONS)) {
            pipeline.submit(prompt());
            assertEquals(reference.apply(prompt()), pipeline.next());
            pipeline.cancel(1, 1);
            Run step = Run.ofTokens(header(2, RunKind.STEP, 3, 1), new int[]{7});
            pipeline.submit(step);
            assertEquals(reference.apply(step), pipeline.next());
        }
    }
}
