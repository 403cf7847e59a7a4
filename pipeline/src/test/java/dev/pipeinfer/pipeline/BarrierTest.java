package dev.pipeinfer.pipeline;

import dev.pipeinfer.pipeline.fake.FakeModel;
import dev.pipeinfer.pipeline.fake.FakeStageCompute;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A barrier (DESIGN section 5, as this code base extends it) comes back to the head after the answers of
 * everything sent before it, so the head knows every stage has applied those runs and edits; no stage counts it
 * as a run, a cancelled run or an edit.
 */
class BarrierTest {
    static final int LAYERS = 3, EMBD = 8, VOCAB = 16;

    static Run step(long id, int position, int token) {
        return Run.ofTokens(new RunHeader(id, RunKind.STEP, new int[]{position}, new long[]{1}, new int[]{0},
                ResultForm.ARGMAX), new int[]{token});
    }

    @Test
    void aBarrierComesBackBehindTheAnswersOfEverythingSentBeforeItAndIsCountedAsNothing() throws Exception {
        List<FakeStageCompute> computes = FakeStageCompute.chain(3, LAYERS, EMBD, VOCAB);
        FakeModel reference = new FakeModel(FakeStageCompute.chain(3, LAYERS, EMBD, VOCAB));
        KvEdit edit = KvEdit.of(new KvEdit.Remove(0, 1, Integer.MAX_VALUE));
        try (Pipeline pipeline = Pipeline.inMemory(computes, new Pipeline.Options(4, Duration.ofSeconds(30)))) {
            pipeline.submit(step(1, 0, 3));
            pipeline.submit(step(2, 1, 4));
            pipeline.send(edit);
            pipeline.cancel(3);
            pipeline.submit(step(3, 1, 5));
            pipeline.send(new Message.Barrier(7));

            assertEquals(reference.apply(step(1, 0, 3)), pipeline.next());
            assertEquals(reference.apply(step(2, 1, 4)), pipeline.next());
            reference.apply(edit);
            assertEquals(new Message.Cancelled(3, 0), pipeline.next());
            assertEquals(new Message.Barrier(7), pipeline.next());
            for (StageStats s : pipeline.stats()) {
                assertEquals(2, s.runsExecuted(), s.toString());
                assertEquals(1, s.runsCancelled(), s.toString());
                assertEquals(1, s.kvEdits(), s.toString());
            }
        }
    }
}
