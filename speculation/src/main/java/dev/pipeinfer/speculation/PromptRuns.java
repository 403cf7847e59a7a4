package dev.pipeinfer.speculation;

import dev.pipeinfer.pipeline.Result;
import dev.pipeinfer.pipeline.ResultForm;
import dev.pipeinfer.pipeline.RunKind;
import java.util.ArrayDeque;
import java.util.Arrays;

/** Prompt processing, the same for every decoder: chunks in sequence 0, pipelined over the stages. */
final class PromptRuns {
    /** Prompt tokens per run at most: large enough to fill the kernels' batch, small enough to pipeline a long prompt. */
    static final int CHUNK = 64;
    /** Prompt tokens per run at least, where a pipeline splits a short prompt: below it a batch loses most of its edge over single tokens. */
    static final int MIN_CHUNK = 8;
    private static final long SEQ_0 = 1L;

    private PromptRuns() {
    }

    /**
     * Sends the prompt in chunks, keeping as many in flight as there are stages (plus one) so the stages
     * work on successive chunks at the same time; returns the result carrying the last prompt position's
     * output row.
     */
    static Result evaluate(Head head, int[] prompt, ResultForm form) throws InterruptedException {
        int stages = head.pipeline().stageCount(), chunk = chunkSize(prompt.length, stages);
        ArrayDeque<Long> inFlight = new ArrayDeque<>();
        Result last = null;
        for (int start = 0; start < prompt.length; start += chunk) {
            int n = Math.min(chunk, prompt.length - start);
            int[] positions = new int[n];
            long[] sequences = new long[n];
            for (int i = 0; i < n; i++) {
                positions[i] = start + i;
                sequences[i] = SEQ_0;
            }
            boolean isLast = start + n == prompt.length;
            int[] outputs = isLast ? new int[] {n - 1} : new int[0];
            if (inFlight.size() == stages + 1) last = head.nextResult(inFlight.removeFirst());
            inFlight.addLast(head.submit(RunKind.PROMPT, Arrays.copyOfRange(prompt, start, start + n), positions,
                    sequences, outputs, form));
        }
        while (!inFlight.isEmpty()) last = head.nextResult(inFlight.removeFirst());
        return last;
    }

    /**
     * Tokens per prompt run. One stage takes the prompt in runs of {@link #CHUNK}. Over S stages a prompt of L
     * tokens in runs of c takes about (L + (S - 1) c) / S token-times of the whole model, against L in one run
     * (the first run crosses every stage alone, then the stages work side by side), so a short prompt is split
     * into about 2 S runs, of {@link #MIN_CHUNK} tokens at least. The logits are the same for any split (batch
     * invariance), so only the time changes.
     */
    static int chunkSize(int promptLength, int stages) {
        if (stages <= 1) return CHUNK;
        return Math.max(MIN_CHUNK, Math.min(CHUNK, Math.ceilDiv(promptLength, 2 * stages)));
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
