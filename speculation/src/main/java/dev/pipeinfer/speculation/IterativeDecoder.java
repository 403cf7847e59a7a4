package dev.pipeinfer.speculation;

import dev.pipeinfer.pipeline.Result;
import dev.pipeinfer.pipeline.ResultForm;
import dev.pipeinfer.pipeline.RunKind;
import dev.pipeinfer.transformer.sampling.Sampler;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * Plain pipelined decoding (the baseline of DESIGN §7): the prompt in chunks, then one single-token run at
 * a time. With N stages only one of them works at any moment during generation; the others wait.
 */
public final class IterativeDecoder implements Decoder {
    /** Prompt tokens per run: large enough to fill the kernels' batch, small enough to pipeline a long prompt. */
    static final int PROMPT_CHUNK = 64;
    private static final long SEQ_0 = 1L;

    private final Head head;

    public IterativeDecoder(Head head) {
        this.head = head;
    }

    @Override
    public String mode() {
        return "iterative";
    }

    @Override
    public GenerationResult generate(GenerationRequest request, TokenListener listener) throws InterruptedException {
        DecodeMetrics metrics = new DecodeMetrics(mode());
        Sampler sampler = new Sampler(request.sampling(), head.vocabSize());
        ResultForm form = request.sampling().isGreedy() ? ResultForm.ARGMAX : ResultForm.LOGITS;
        int[] prompt = request.prompt();
        if (prompt.length >= head.contextSize()) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens but the context holds "
                    + head.contextSize() + "; raise --ctx");
        }
        head.clearCaches();
        for (int t : prompt) sampler.accept(t);

        Result last = evaluatePrompt(prompt, form);
        metrics.promptDone(prompt.length);

        int[] out = new int[Math.min(request.maxTokens(), 1024)];
        int generated = 0;
        int position = prompt.length;
        StopReason stop = StopReason.LENGTH;
        while (generated < request.maxTokens()) {
            int token = form == ResultForm.ARGMAX ? last.argmax()[0] : sampler.sample(last.logits(), 0);
            if (request.stopAt().test(token)) {
                stop = StopReason.END_OF_GENERATION;
                break;
            }
            sampler.accept(token);
            if (generated == out.length) out = Arrays.copyOf(out, out.length * 2);
            out[generated++] = token;
            metrics.tokenEmitted();
            listener.onToken(token);
            if (generated == request.maxTokens()) break;
            if (position >= head.contextSize()) {
                stop = StopReason.CONTEXT_FULL;
                break;
            }
            long id = head.submit(RunKind.STEP, new int[] {token}, new int[] {position}, new long[] {SEQ_0},
                    new int[] {0}, form);
            metrics.runsLaunched++;
            position++;
            last = head.nextResult(id);
        }
        metrics.finish();
        return new GenerationResult(Arrays.copyOf(out, generated), stop, metrics);
    }

    /**
     * Sends the prompt in chunks, keeping as many in flight as there are stages (plus one) so the stages
     * work on successive chunks at the same time; returns the result carrying the last prompt position's
     * logits.
     */
    private Result evaluatePrompt(int[] prompt, ResultForm form) throws InterruptedException {
        int inFlightLimit = head.pipeline().stageCount() + 1;
        ArrayDeque<Long> inFlight = new ArrayDeque<>();
        Result last = null;
        for (int start = 0; start < prompt.length; start += PROMPT_CHUNK) {
            int n = Math.min(PROMPT_CHUNK, prompt.length - start);
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
}
