package dev.pipeinfer.pipeline;

import dev.pipeinfer.pipeline.fake.FakeStageCompute;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where a stage computes (DESIGN section 8): runs on a platform thread of the stage's own, so the stage's virtual
 * thread waits unmounted and its carrier stays free for the node's I/O; and a closing stage stops its run at the
 * next layer and waits for it, so nothing computes on the node's pool after the stage has ended.
 */
class StageThreadsTest {
    static final int LAYERS = 4, EMBD = 8, VOCAB = 16;

    static Run run(long id, int position) {
        return Run.ofTokens(new RunHeader(id, RunKind.STEP, new int[]{position}, new long[]{1}, new int[]{0},
                ResultForm.ARGMAX), new int[]{3});
    }

    @Test
    void aRunIsComputedOnThePlatformThreadOfItsStageAndKvEditsKeepTheirPlaceInTheStream() throws Exception {
        List<FakeStageCompute> computes = FakeStageCompute.chain(2, LAYERS, EMBD, VOCAB);
        AtomicReference<Thread> first = new AtomicReference<>(), second = new AtomicReference<>();
        computes.get(0).setHook((run, layer) -> first.compareAndSet(null, Thread.currentThread()));
        computes.get(1).setHook((run, layer) -> second.compareAndSet(null, Thread.currentThread()));
        try (Pipeline pipeline = Pipeline.inMemory(computes, new Pipeline.Options(4, Duration.ofSeconds(30)))) {
            pipeline.submit(run(1, 0));
            assertInstanceOf(Result.class, pipeline.next());
            pipeline.send(new KvEdit(List.of(new KvEdit.Remove(0, 0, Integer.MAX_VALUE))));
            pipeline.submit(run(2, 0));
            assertInstanceOf(Result.class, pipeline.next());

            for (AtomicReference<Thread> t : List.of(first, second)) {
                assertFalse(t.get().isVirtual(), t.get() + " computed a run");
            }
            assertEquals("stage-0 compute", first.get().getName());
            assertEquals("stage-1 compute", second.get().getName());
            for (FakeStageCompute c : computes) {
                assertEquals(List.of("run 1", "edit [Remove[seq=0, p0=0, p1=2147483647]]", "run 2"), c.events());
            }
        }
    }

    @Test
    void aClosedStageStopsItsRunAtTheNextLayerAndEndsOnlyAfterIt() throws Exception {
        FakeStageCompute compute = new FakeStageCompute(0, 1, LAYERS, EMBD, VOCAB);
        CountDownLatch holding = new CountDownLatch(1), release = new CountDownLatch(1);
        compute.setHook((run, layer) -> {
            if (layer == 1) {
                holding.countDown();
                release.await();
            }
        });
        Link input = new InMemoryLink("head->0", 2), output = new InMemoryLink("0->head", 2);
        Stage stage = new Stage(0, "local", compute, input, output, new ActivationPool(4), failure -> { }).start();
        input.send(run(1, 0));
        assertTrue(holding.await(10, TimeUnit.SECONDS), "the run never reached layer 1");

        assertFalse(stage.closeAndAwait(Duration.ofMillis(300)),
                "the stage thread ended while its run still computed on the node's pool");
        release.countDown();
        assertTrue(stage.awaitEnd(Duration.ofSeconds(10)));
        assertEquals(List.of("cancel 1 before layer 2"), compute.events());
    }
}
