package dev.pipeinfer.speculation;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.transformer.SliceOptions;
import dev.pipeinfer.transformer.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The draft model's own state across requests: whatever it kept from earlier requests (its KV cache, the
 * logits after its cached context), it drafts exactly what a freshly started draft drafts for the same context.
 */
class DraftModelTest {
    private static final int[] ONCE_UPON_A_TIME = {1, 403, 407, 261, 378};
    private static final Path TARGET = TestData.model("stories260K.gguf");
    private static final Path DRAFT = TestData.model("stories260K-Q4_0.gguf");

    private static DraftModel.Request upTo3(float cutoff) {
        return new DraftModel.Request(3, 1, cutoff, 0.3f, 200);
    }

    @Test
    void askingAgainAfterAnUnsureAnswerDraftsWhatAFreshDraftDrafts() throws Exception {
        try (GgufFile target = GgufFile.open(TARGET);
             DraftModel asked = DraftModel.open(DRAFT, target, SliceOptions.generation(256), 1);
             DraftModel fresh = DraftModel.open(DRAFT, target, SliceOptions.generation(256), 1)) {
            asked.start(ONCE_UPON_A_TIME, SamplingParams.greedy(), 1).join();
            fresh.start(ONCE_UPON_A_TIME, SamplingParams.greedy(), 1).join();
            int[] context = ONCE_UPON_A_TIME;
            for (int step = 0; step < 4; step++) {
                // a cutoff no probability reaches: nothing drafted, but the logits after the context are kept
                assertTrue(asked.draft(context, upTo3(1f)).join().isEmpty());
                DraftTree again = asked.draft(context, upTo3(0f)).join();
                DraftTree direct = fresh.draft(context, upTo3(0f)).join();
                assertEquals(3, direct.size());
                assertArrayEquals(direct.tokens(), again.tokens(), "step " + step);
                int[] main = again.mainTokens();
                context = Arrays.copyOf(context, context.length + main.length);
                System.arraycopy(main, 0, context, context.length - main.length, main.length);
            }
        }
    }

    @Test
    void aContextCutBackDraftsWhatAFreshDraftDrafts() throws Exception {
        try (GgufFile target = GgufFile.open(TARGET);
             DraftModel asked = DraftModel.open(DRAFT, target, SliceOptions.generation(256), 1);
             DraftModel fresh = DraftModel.open(DRAFT, target, SliceOptions.generation(256), 1)) {
            asked.start(ONCE_UPON_A_TIME, SamplingParams.greedy(), 1).join();
            DraftTree first = asked.draft(ONCE_UPON_A_TIME, upTo3(0f)).join();
            // the target took another token than the draft's first one
            int[] corrected = Arrays.copyOf(ONCE_UPON_A_TIME, ONCE_UPON_A_TIME.length + 1);
            corrected[ONCE_UPON_A_TIME.length] = first.tokens()[0] == 42 ? 43 : 42;
            DraftTree afterRejection = asked.draft(corrected, upTo3(0f)).join();
            assertArrayEquals(first.tokens(), asked.draft(ONCE_UPON_A_TIME, upTo3(0f)).join().tokens(),
                    "back to a prefix of what the draft holds");
            fresh.start(ONCE_UPON_A_TIME, SamplingParams.greedy(), 1).join();
            assertArrayEquals(fresh.draft(corrected, upTo3(0f)).join().tokens(), afterRejection.tokens());
        }
    }
}
