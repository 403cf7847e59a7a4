package dev.pipeinfer.net;

import dev.pipeinfer.pipeline.LinkShape;
import dev.pipeinfer.pipeline.Message;
import dev.pipeinfer.pipeline.Pipeline;
import dev.pipeinfer.pipeline.Result;
import dev.pipeinfer.pipeline.ResultForm;
import dev.pipeinfer.pipeline.Run;
import dev.pipeinfer.pipeline.RunHeader;
import dev.pipeinfer.pipeline.RunKind;
import dev.pipeinfer.pipeline.StageStats;
import dev.pipeinfer.pipeline.fake.FakeModel;
import dev.pipeinfer.pipeline.fake.FakeStageCompute;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pipeline over loopback TCP: same answers, same order, same cancellation as in memory. */
class TcpPipelineTest {
    static final int LAYERS = 3, EMBD = 16, VOCAB = 24;
    static final String FINGERPRINT = "f".repeat(64);

    static int[] bounds(int stages) {
        int[] b = new int[stages + 1];
        for (int i = 0; i <= stages; i++) b[i] = i * LAYERS;
        return b;
    }

    static TcpPipeline.HeadConfig config() {
        return TcpPipeline.HeadConfig.defaults(FINGERPRINT)
                .withOptions(new Pipeline.Options(3, Duration.ofSeconds(30)));
    }

    static List<Result> expected(List<Message> stream, int stages) {
        FakeModel reference = new FakeModel(FakeStageCompute.chain(stages, LAYERS, EMBD, VOCAB));
        List<Result> out = new ArrayList<>();
        for (Message m : stream) {
            Result r = reference.apply(m);
            if (r != null) out.add(r);
        }
        return out;
    }

    @ParameterizedTest(name = "{0} stages over loopback TCP")
    @ValueSource(ints = {2, 3, 4})
    void resultsAndOrderMatchTheDirectReference(int stageCount) throws Exception {
        List<Message> stream = FakeModel.stream(7 + stageCount, 100, VOCAB);
        List<Result> expected = expected(stream, stageCount);
        List<FakeStageCompute> stages = FakeStageCompute.chain(stageCount, LAYERS, EMBD, VOCAB);
        List<String> status = new CopyOnWriteArrayList<>();
        List<Message> answers;
        List<StageStats> stats;
        try (Pipeline pipeline = LoopbackCluster.start(stages, bounds(stageCount), config(), status::add)) {
            answers = FakeModel.drive(pipeline, stream);
            stats = pipeline.stats();
        }
        assertEquals(expected.size(), answers.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), assertInstanceOf(Result.class, answers.get(i)), "answer " + i);
        }
        for (FakeStageCompute s : stages) assertEquals(stages.getFirst().events(), s.events(), "event order");
        assertEquals(stream.size(), stages.getFirst().events().size());
        for (int i = 0; i < stageCount; i++) {
            StageStats s = stats.get(i);
            assertEquals(i, s.stageIndex());
            assertEquals(expected.size(), s.runsExecuted(), s.toString());
            assertTrue(s.bytesSent() > 0 && (i == 0 || s.bytesReceived() > 0), "traffic counted: " + s);
        }
        assertTrue(status.stream().anyMatch(line -> line.contains("connected")), "workers said a head connected: " + status);
    }

    @Test
    void runsCancelledBeforeSubmissionComeBackAsTombstonesInTheirPlace() throws Exception {
        List<Message> stream = FakeModel.stream(31, 150, VOCAB);
        // Cancel every third speculative run; the reference simply never sees them.
        java.util.Set<Long> cancel = new java.util.HashSet<>();
        FakeModel reference = new FakeModel(FakeStageCompute.chain(3, LAYERS, EMBD, VOCAB));
        List<Message> expected = new ArrayList<>();
        int speculative = 0;
        for (Message m : stream) {
            if (m instanceof Run r && r.header().kind() == RunKind.SPECULATIVE && speculative++ % 3 == 0) {
                cancel.add(r.runId());
                expected.add(new Message.Cancelled(r.runId(), 0));
            } else {
                Result res = reference.apply(m);
                if (res != null) expected.add(res);
            }
        }
        assertTrue(cancel.size() > 10, "enough cancellations: " + cancel.size());
        List<FakeStageCompute> stages = FakeStageCompute.chain(3, LAYERS, EMBD, VOCAB);
        try (Pipeline pipeline = LoopbackCluster.start(stages, bounds(3), config(), line -> { })) {
            assertEquals(expected, FakeModel.drive(pipeline, stream, cancel));
        }
        for (long id : cancel) assertTrue(stages.stream().noneMatch(s -> s.events().contains("run " + id)));
    }

    @ParameterizedTest(name = "{0} stages")
    @ValueSource(ints = {2, 3, 4})
    void anEmulatedLinkDelaysEveryHopOfTheRingOnce(int stageCount) throws Exception {
        // Every hop (head -> 1 -> ... -> head) is shaped once: a run's round trip takes stageCount latencies.
        long latencyMillis = 40;
        TcpPipeline.HeadConfig shaped = config().withOptions(new Pipeline.Options(2, Duration.ofSeconds(30),
                LinkShape.of(latencyMillis, 0)));
        List<FakeStageCompute> stages = FakeStageCompute.chain(stageCount, LAYERS, EMBD, VOCAB);
        FakeModel reference = new FakeModel(FakeStageCompute.chain(stageCount, LAYERS, EMBD, VOCAB));
        try (Pipeline pipeline = LoopbackCluster.start(stages, bounds(stageCount), shaped, line -> { })) {
            for (long id = 1; id <= 2; id++) {
                Run run = Run.ofTokens(new RunHeader(id, RunKind.STEP, new int[]{(int) id}, new long[]{1}, new int[]{0},
                        ResultForm.ARGMAX), new int[]{(int) id + 3});
                long start = System.nanoTime();
                pipeline.submit(run);
                Message answer = pipeline.next();
                long took = System.nanoTime() - start;
                assertEquals(reference.apply(run), answer);
                long least = stageCount * (latencyMillis * 1_000_000 - LinkShape.MAX_EARLY_NANOS);
                assertTrue(took >= least, "round trip of " + took / 1_000_000 + " ms over " + stageCount
                        + " hops of " + latencyMillis + " ms");
                assertTrue(took < least + 2_000_000_000L, "round trip of " + took / 1_000_000 + " ms");
            }
        }
    }

    @Test
    void aRunLargerThanTheFrameLimitEndsThePipelineWithTheReason() throws Exception {
        TcpPipeline.HeadConfig small = new TcpPipeline.HeadConfig(FINGERPRINT, null, WireType.F32, 0, 4096,
                Duration.ofSeconds(10), new Pipeline.Options(2, Duration.ofSeconds(30)));
        int n = 100; // 100 x 16 f32 activations = 6400 bytes after stage 0
        int[] positions = new int[n], tokens = new int[n];
        long[] sets = new long[n];
        for (int i = 0; i < n; i++) {
            positions[i] = i;
            sets[i] = 1;
        }
        try (Pipeline pipeline = LoopbackCluster.start(FakeStageCompute.chain(2, LAYERS, EMBD, VOCAB), bounds(2), small,
                line -> { })) {
            pipeline.submit(Run.ofTokens(new RunHeader(1, RunKind.PROMPT, positions, sets, new int[]{n - 1},
                    ResultForm.ARGMAX), tokens));
            var e = org.junit.jupiter.api.Assertions.assertThrows(dev.pipeinfer.pipeline.StageFailureException.class,
                    pipeline::next);
            assertEquals(0, e.stageIndex());
            assertTrue(e.getMessage().contains("exceeds the frame limit of 4096 bytes"), e.getMessage());
        }
    }

    @Test
    void halfPrecisionWireGivesCloseButNotExactResults() throws Exception {
        List<Message> stream = FakeModel.stream(99, 60, VOCAB).stream()
                .map(m -> m instanceof Run r ? Run.ofTokens(new RunHeader(r.runId(), r.header().kind(), r.header().positions(),
                        r.header().sequenceSets(), r.header().outputRows(), ResultForm.LOGITS), r.tokens()) : m)
                .toList();
        List<Result> expected = expected(stream, 3);
        for (WireType wire : new WireType[]{WireType.F16, WireType.BF16}) {
            List<Message> answers;
            try (Pipeline pipeline = LoopbackCluster.start(FakeStageCompute.chain(3, LAYERS, EMBD, VOCAB), bounds(3),
                    config().withWire(wire), line -> { })) {
                answers = FakeModel.drive(pipeline, stream);
            }
            double worst = 0;
            boolean anyDifferent = false;
            for (int i = 0; i < expected.size(); i++) {
                float[] want = expected.get(i).logits();
                float[] got = assertInstanceOf(Result.class, answers.get(i)).logits();
                assertEquals(want.length, got.length);
                float scale = 0;
                for (float w : want) scale = Math.max(scale, Math.abs(w));
                for (int v = 0; v < want.length; v++) {
                    worst = Math.max(worst, Math.abs(want[v] - got[v]) / scale);
                    anyDifferent |= want[v] != got[v];
                }
            }
            // bf16 keeps 8 significant bits, f16 11: rounding error per value up to 2^-9 / 2^-12 of it,
            // twice (two hops), summed over a row of 16 weights; measured against the row's largest logit.
            System.out.println(wire + " worst error relative to the row's largest logit: " + worst);
            assertTrue(worst < (wire == WireType.BF16 ? 0.015 : 0.002), wire + " worst relative error " + worst);
            assertTrue(anyDifferent, wire + " is lossy: some logits must differ");
        }
    }

    @Test
    void cancellationWorksAcrossTheWire() throws Exception {
        List<FakeStageCompute> stages = FakeStageCompute.chain(3, 4, EMBD, VOCAB);
        FakeModel reference = new FakeModel(FakeStageCompute.chain(3, 4, EMBD, VOCAB));
        CountDownLatch inLayer = new CountDownLatch(1), release = new CountDownLatch(1);
        stages.get(2).setHook((run, layer) -> {
            if (run == 3 && layer == 1) {
                inLayer.countDown();
                release.await();
            }
        });
        Run prompt = Run.ofTokens(new RunHeader(1, RunKind.PROMPT, new int[]{0, 1, 2}, new long[]{1, 1, 1},
                new int[]{2}, ResultForm.topK(2)), new int[]{4, 5, 6});
        try (Pipeline pipeline = LoopbackCluster.start(stages, new int[]{0, 4, 8, 12}, config(), line -> { })) {
            pipeline.submit(prompt);
            assertEquals(reference.apply(prompt), pipeline.next());

            pipeline.cancel(2); // before it exists: skipped by stage 0
            pipeline.submit(Run.ofTokens(new RunHeader(2, RunKind.SPECULATIVE, new int[]{3}, new long[]{2},
                    new int[]{0}, ResultForm.ARGMAX), new int[]{8}));
            assertEquals(new Message.Cancelled(2, 0), pipeline.next());

            pipeline.submit(Run.ofTokens(new RunHeader(3, RunKind.SPECULATIVE, new int[]{3}, new long[]{4},
                    new int[]{0}, ResultForm.ARGMAX), new int[]{9}));
            inLayer.await();
            pipeline.cancel(3); // mid-compute on the last worker
            pipeline.stats();   // control messages are ordered per session: the cancel has landed
            release.countDown();
            assertEquals(new Message.Cancelled(3, 2), pipeline.next());
            assertEquals(List.of("run 1", "cancel 3 before layer 2"), stages.get(2).events());

            pipeline.send(dev.pipeinfer.pipeline.KvEdit.of(new dev.pipeinfer.pipeline.KvEdit.Remove(2, 0, 100)));
            Run step = Run.ofTokens(new RunHeader(4, RunKind.STEP, new int[]{3}, new long[]{1}, new int[]{0},
                    ResultForm.topK(2)), new int[]{7});
            pipeline.submit(step);
            Result got = assertInstanceOf(Result.class, pipeline.next());
            assertEquals(reference.apply(step), got, "cells of the cancelled run were freed everywhere");
            assertNotEquals(0, pipeline.stats().get(2).cancelledComputeNanos());
        }
    }
}
