package dev.pipeinfer.pipeline;

import dev.pipeinfer.pipeline.fake.FakeModel;
import dev.pipeinfer.pipeline.fake.FakeStageCompute;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ActivationPoolTest {
    @Test
    void aReleasedBufferIsReusedForAShapeThatFits() {
        ActivationPool pool = new ActivationPool(2);
        Activations a = pool.acquire(4, 8);
        float[] data = a.data();
        a.release();
        Activations b = pool.acquire(2, 8);
        assertSame(data, b.data());
        assertEquals(16, b.length());
        Activations c = pool.acquire(2, 8);
        assertNotSame(data, c.data());
        b.release();
        c.release();
        assertEquals(2, pool.allocations());
        assertThrows(IllegalStateException.class, a::data, "use after release is caught");
    }

    @Test
    void aPipelineInSteadyStateAllocatesNoNewBuffers() throws Exception {
        Pipeline.Options options = new Pipeline.Options(2, Duration.ofSeconds(30));
        ActivationPool pool = new ActivationPool(16);
        List<FakeStageCompute> fakes = FakeStageCompute.chain(3, 1, 8, 8);
        // Stages built by hand so that the test can see their pool.
        FailureLatch failures = new FailureLatch();
        InMemoryLink l0 = new InMemoryLink("a", 2), l1 = new InMemoryLink("b", 2), l2 = new InMemoryLink("c", 2),
                l3 = new InMemoryLink("d", 2);
        List<Link> links = List.of(l0, l1, l2, l3);
        List<StageControl> controls = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            controls.add(new LocalStageControl(new Stage(i, "local", fakes.get(i), links.get(i), links.get(i + 1), pool,
                    failures::report).start()));
        }
        List<AutoCloseable> resources = new java.util.ArrayList<>(controls);
        resources.addAll(links);
        try (Pipeline pipeline = new Pipeline(l0, l3, controls, resources, failures, options.stageTimeout())) {
            List<dev.pipeinfer.pipeline.Message> stream = FakeModel.stream(2, 300, 8);
            long runs = stream.stream().filter(m -> m instanceof Run).count();
            FakeModel.drive(pipeline, stream);
            // Each run takes two buffers (after stages 0 and 1); at most ~8 are alive at once (two per
            // link and per stage), and rounding sizes to powers of two leaves few distinct sizes.
            assertTrue(runs > 150, "enough runs to tell pooling from allocation: " + runs);
            assertTrue(pool.allocations() <= 16, pool.allocations() + " arrays allocated for " + 2 * runs + " uses");
        }
    }
}
