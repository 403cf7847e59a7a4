package dev.pipeinfer.pipeline;

import dev.pipeinfer.pipeline.fake.FakeModel;
import dev.pipeinfer.pipeline.fake.FakeStageCompute;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** Runs and KV edits reach every stage in submission order, and results come back in that order. */
class PipelineOrderingTest {
    static final int LAYERS = 3, EMBD = 8, VOCAB = 24;

    @ParameterizedTest(name = "{0} in-memory stages")
    @ValueSource(ints = {1, 2, 3, 4})
    void resultsMatchTheDirectReferenceAndEveryStageSeesTheSameOrder(int stageCount) throws Exception {
        List<Message> stream = FakeModel.stream(42 + stageCount, 120, VOCAB);
        List<FakeStageCompute> stages = FakeStageCompute.chain(stageCount, LAYERS, EMBD, VOCAB);
        FakeModel reference = new FakeModel(FakeStageCompute.chain(stageCount, LAYERS, EMBD, VOCAB));
        List<Result> expected = new ArrayList<>();
        for (Message m : stream) {
            Result r = reference.apply(m);
            if (r != null) expected.add(r);
        }

        List<Message> answers;
        try (Pipeline pipeline = Pipeline.inMemory(stages, new Pipeline.Options(2, Duration.ofSeconds(30)))) {
            answers = FakeModel.drive(pipeline, stream);
            List<StageStats> stats = pipeline.stats();
            for (StageStats s : stats) {
                assertEquals(expected.size(), s.runsExecuted(), "runs executed by " + s);
                assertEquals(stream.size() - expected.size(), s.kvEdits(), "KV edits applied by " + s);
            }
        }

        assertEquals(expected.size(), answers.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), assertInstanceOf(Result.class, answers.get(i)), "answer " + i);
        }
        List<String> order = stages.getFirst().events();
        assertEquals(stream.size(), order.size());
        for (FakeStageCompute s : stages) assertEquals(order, s.events(), "event order of every stage");
    }

    @ParameterizedTest(name = "{0} stages with runs cancelled before submission")
    @ValueSource(ints = {1, 3})
    void runsCancelledBeforeSubmissionComeBackAsTombstonesInTheirPlace(int stageCount) throws Exception {
        List<Message> stream = FakeModel.stream(77, 150, VOCAB);
        java.util.Set<Long> cancel = new java.util.HashSet<>();
        FakeModel reference = new FakeModel(FakeStageCompute.chain(stageCount, LAYERS, EMBD, VOCAB));
        List<Message> expected = new ArrayList<>();
        int speculative = 0;
        for (Message m : stream) {
            if (m instanceof Run r && r.header().kind() == RunKind.SPECULATIVE && speculative++ % 2 == 0) {
                cancel.add(r.runId());
                expected.add(new Message.Cancelled(r.runId(), 0));
            } else {
                Result res = reference.apply(m);
                if (res != null) expected.add(res);
            }
        }
        try (Pipeline pipeline = Pipeline.inMemory(FakeStageCompute.chain(stageCount, LAYERS, EMBD, VOCAB),
                new Pipeline.Options(2, Duration.ofSeconds(30)))) {
            assertEquals(expected, FakeModel.drive(pipeline, stream, cancel));
        }
    }

    @ParameterizedTest(name = "reordered edit changes the results ({0} stages)")
    @ValueSource(ints = {2})
    void theReferenceIsSensitiveToTheOrderOfEdits(int stageCount) {
        // Guards the test above against a fake that would pass whatever the order: swapping a removal
        // with the run after it must change that run's logits.
        RunHeader prompt = new RunHeader(1, RunKind.PROMPT, new int[]{0, 1, 2}, new long[]{2, 2, 2}, new int[]{2}, ResultForm.LOGITS);
        RunHeader step = new RunHeader(2, RunKind.STEP, new int[]{3}, new long[]{2}, new int[]{0}, ResultForm.LOGITS);
        KvEdit remove = KvEdit.of(new KvEdit.Remove(1, 0, 2));
        FakeModel inOrder = new FakeModel(FakeStageCompute.chain(stageCount, LAYERS, EMBD, VOCAB));
        FakeModel swapped = new FakeModel(FakeStageCompute.chain(stageCount, LAYERS, EMBD, VOCAB));
        inOrder.apply(Run.ofTokens(prompt, new int[]{5, 6, 7}));
        inOrder.apply(remove);
        Result a = inOrder.apply(Run.ofTokens(step, new int[]{8}));
        swapped.apply(Run.ofTokens(prompt, new int[]{5, 6, 7}));
        Result b = swapped.apply(Run.ofTokens(step, new int[]{8}));
        swapped.apply(remove);
        org.junit.jupiter.api.Assertions.assertNotEquals(a, b);
    }
}
