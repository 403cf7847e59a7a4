package dev.pipeinfer.speculation;

import dev.pipeinfer.pipeline.Result;
import dev.pipeinfer.pipeline.ResultForm;
import dev.pipeinfer.pipeline.RunKind;
import java.util.ArrayDeque;
import java.util.Arrays;

/** Prompt processing, the same for every decoder: chunks in sequence 0, pipelined over the stages. */
final class PromptRuns {
    /** Prompt tokens per run: large enough to fill the kernels' batch, small enough to pipeline a long prompt. */
    static final int CHUNK = 64;
    private static final long SEQ_0 = 1L;

    private PromptRuns() {
    }

    /**
     * Sends the prompt in chunks, keeping as many in flight as there are stages (plus one) so the stages
     * work on successive chunks at the same time; returns the result carrying the last prompt position's
     * output row.
     */
    static Result evaluate(Head head, int[] prompt, ResultForm form) throws InterruptedException {
        int inFlightLimit = head.pipeline().stageCount() + 1;
        ArrayDeque<Long> inFlight = new ArrayDeque<>();
        Result last = null;
        for (int start = 0; start < prompt.length; start += CHUNK) {
            int n = Math.min(CHUNK, prompt.length - start);
            int[] positions = new int[n];
            long[] sequences = new long[n];
            for (int i = 0; i < n; i++) {
                positions[i] = start + i;
                sequences[i] = SEQ_0;
            }
            boolean isLast = start + n == prompt.length;
            int[] outputs = isLast ? new int[] {n - 1} : new int[0];
            if (inFlight.size() == inFlightLimit) last = head.nextResult(inFlight.removeFirst());
            inFlight.addLast(head.submit(RunKind.PROMPT, Arrays.copyOfRange(prompt, start, start + n), positions,
                    sequences, outputs, form));
        }
        while (!inFlight.isEmpty()) last = head.nextResult(inFlight.removeFirst());
        return last;
    }

    /**
     * The result form sampling needs: the argmax is enough for greedy decoding without penalties; anything
     * else needs the logits rows.
     */
    static ResultForm formFor(dev.pipeinfer.transformer.sampling.SamplingParams p) {
        boolean penalized = p.repeatLastN() > 0
                && (p.repeatPenalty() != 1f || p.frequencyPenalty() != 0f || p.presencePenalty() != 0f);
        return p.isGreedy() && !penalized ? ResultForm.ARGMAX : ResultForm.LOGITS;
    }
}
