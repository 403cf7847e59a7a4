package dev.pipeinfer.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.pipeline.StageFailureException;
import dev.pipeinfer.speculation.GenerationRequest;
import dev.pipeinfer.speculation.GenerationResult;
import dev.pipeinfer.speculation.IterativeDecoder;
import dev.pipeinfer.speculation.TokenListener;
import dev.pipeinfer.transformer.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A head and `pipeinfer worker` processes on loopback: the deployment of DESIGN §4 on one machine. */
class MultiProcessPipelineTest {
    private static final Path MODEL = TestData.model("stories260K.gguf");
    private static final int[] PROMPT = {1, 403, 407, 261, 378};

    @Test
    void headAndTwoWorkerProcessesGenerateWhatOneNodeDoes() throws Exception {
        int[] expected = PipelineEquivalenceTest.oneNodeGreedy(MODEL, PROMPT, 32);
        try (WorkerProcesses workers = new WorkerProcesses()) {
            StageOptions o = options(workers.start(MODEL), workers.start(MODEL));
            try (TargetPipeline target = TargetPipeline.open(MODEL, o, s -> { })) {
                GenerationResult r = new IterativeDecoder(target.head()).generate(
                        new GenerationRequest(PROMPT, 32, SamplingParams.greedy(), t -> false), TokenListener.NONE);
                assertArrayEquals(expected, r.tokens());
            }
            assertNotNull(workers.awaitLog(0, "connected: stage 1 of 3", 10));
            assertNotNull(workers.awaitLog(1, "connected: stage 2 of 3", 10));
        }
    }

    @Test
    void aWorkerKilledMidGenerationEndsTheRunNamingIt() throws Exception {
        try (WorkerProcesses workers = new WorkerProcesses()) {
            String last = workers.start(MODEL);   // process 0: serves stage 2
            StageOptions o = options(workers.start(MODEL), last);
            o.stageTimeoutSeconds = 5;
            try (TargetPipeline target = TargetPipeline.open(MODEL, o, s -> { })) {
                AtomicInteger seen = new AtomicInteger();
                long start = System.nanoTime();
                StageFailureException e = assertThrows(StageFailureException.class, () -> new IterativeDecoder(target.head())
                        .generate(new GenerationRequest(PROMPT, 100_000, SamplingParams.greedy(), t -> false), token -> {
                            if (seen.incrementAndGet() == 5) workers.process(0).destroyForcibly();
                        }));
                double seconds = (System.nanoTime() - start) / 1e9;
                assertTrue(seconds < 20, "ended after " + seconds + " s");
                String message = e.getMessage();
                assertTrue(message.contains("stage 2 (" + last + ")"), message);
            }
        }
    }

    @Test
    void aWorkerWithAnotherModelIsRefusedAtHandshakeOnBothSides() throws Exception {
        try (WorkerProcesses workers = new WorkerProcesses()) {
            String other = workers.start(TestData.model("stories260K-Q8_0.gguf"));
            Exception e = assertThrows(Exception.class, () -> TargetPipeline.open(MODEL, options(other), s -> { }).close());
            assertTrue(e.getMessage().contains("fingerprint"), e.getMessage());
            assertNotNull(workers.awaitLog(0, "fingerprint", 10), "the worker logs the refusal too");
        }
    }

    @Test
    void aHeadWithTheWrongClusterKeyIsRefused() throws Exception {
        try (WorkerProcesses workers = new WorkerProcesses()) {
            String address = workers.start(MODEL, "--cluster-key", "right horse battery staple");
            StageOptions o = options(address);
            o.clusterKey = "wrong horse";
            Exception e = assertThrows(Exception.class, () -> TargetPipeline.open(MODEL, o, s -> { }).close());
            assertTrue(e.getMessage().toLowerCase().contains("key"), e.getMessage());
            assertNotNull(workers.awaitLog(0, "key", 10), "the worker logs the refusal too");
        }
    }

    private static StageOptions options(String... workers) {
        StageOptions o = new StageOptions();
        o.stages = List.of(workers);
        o.threads = 1;
        o.ctx = 256;
        o.kvType = "f32";
        return o;
    }
}
