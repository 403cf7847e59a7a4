package dev.pipeinfer.pipeline;

import dev.pipeinfer.pipeline.engine.Stories260K;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOptions;
import dev.pipeinfer.transformer.kv.KvCache;
import dev.pipeinfer.transformer.kv.KvType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A worker's warm-up meeting the head's first messages at a point the test chooses: the warm-up is held at a
 * layer boundary of its first pass, with its own cells in the KV cache, while KV edits and then the first run
 * arrive. The edits must wait for the warm-up (the cache is not safe to change under a forward pass), the run
 * must stop it at its next layer, and the run must then find the cache the head sent it for: the warm-up's
 * cells gone, the edits applied, llama.cpp's answer. {@code EnginePipelineTest} covers the same over whole
 * pipelines, where the interleaving is left to the scheduler.
 */
class WarmUpInterleavingTest {
    static Stories260K model;

    @BeforeAll
    static void load() throws Exception {
        model = new Stories260K();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void editsDuringTheWarmUpWaitForItAndTheFirstRunStopsItAtTheNextLayer() throws Exception {
        LayerSlice slice = LayerSlice.load(model.file, 0, model.config.layers(),
                SliceOptions.generation(512).withKvType(KvType.F32), model.pool);
        KvCache kv = slice.kvCache();
        CountDownLatch held = new CountDownLatch(1), release = new CountDownLatch(1);
        AtomicInteger layerChecks = new AtomicInteger(), checksAfterRelease = new AtomicInteger();
        LayerSliceCompute stage = new LayerSliceCompute(slice, (s, budget, stop) -> s.warmUp(budget, () -> {
            if (layerChecks.incrementAndGet() == 2) { // past the first layer: the pass's cells are in the cache
                held.countDown();
                await(release);
            }
            if (release.getCount() == 0 && stop.getAsBoolean()) checksAfterRelease.incrementAndGet();
            return stop.getAsBoolean();
        }));

        stage.warmUpWhileIdle();
        assertTrue(held.await(30, TimeUnit.SECONDS), "the warm-up reached its second layer");
        int warmUpCells = kv.usedCells();
        assertTrue(warmUpCells > 0, "the warm-up's first pass holds cells");

        // what a head sends before its first prompt: clear the cache; and a copy that would tag the warm-up's cells
        stage.applyKvEdit(KvEdit.of(new KvEdit.Remove(0, 0, Integer.MAX_VALUE)));
        stage.applyKvEdit(KvEdit.of(new KvEdit.Commit(0, 1, 0, Integer.MAX_VALUE)));
        assertEquals(warmUpCells, kv.usedCells(), "the cache did not change under the warm-up's pass");
        assertEquals(2, stage.editsHeldBack(), "edits arriving during the warm-up wait for it");

        int n = model.prompt.length;
        int[] positions = new int[n];
        long[] sequences = new long[n];
        for (int i = 0; i < n; i++) {
            positions[i] = i;
            sequences[i] = 1;
        }
        RunHeader header = new RunHeader(1, RunKind.PROMPT, positions, sequences, new int[] {n - 1}, ResultForm.ARGMAX);
        int[] argmax = {-1};
        CompletableFuture<Boolean> run = CompletableFuture.supplyAsync(() -> stage.compute(header, model.prompt, null,
                Activations.wrap(new float[n * model.config.embd()], n, model.config.embd()),
                (output, logits, offset, vocab) -> argmax[0] = argmaxOf(logits, offset, vocab), () -> false));
        while (!stage.stopRequested()) Thread.onSpinWait(); // the run has reached the stage and waits for the warm-up
        release.countDown();

        assertTrue(run.get(60, TimeUnit.SECONDS), "the first run completed");
        assertFalse(stage.warmingUp());
        assertEquals(1, checksAfterRelease.get(), "the warm-up stopped at the first layer boundary after the run arrived");
        assertEquals(0, stage.editsHeldBack(), "the held edits were applied");
        assertEquals(model.expected[0], argmax[0], "llama.cpp's first greedy token");
        assertEquals(n, kv.usedCells(), "only the prompt's cells: the warm-up's were cleared");
    }

    private static int argmaxOf(float[] logits, int offset, int vocab) {
        int best = 0;
        for (int i = 1; i < vocab; i++) if (logits[offset + i] > logits[offset + best]) best = i;
        return best;
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(60, TimeUnit.SECONDS)) throw new AssertionError("the test never released the warm-up");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
