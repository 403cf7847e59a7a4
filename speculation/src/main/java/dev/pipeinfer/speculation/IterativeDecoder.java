package dev.pipeinfer.speculation;

import dev.pipeinfer.pipeline.Result;
import dev.pipeinfer.pipeline.ResultForm;
import dev.pipeinfer.pipeline.RunKind;
import dev.pipeinfer.transformer.sampling.Sampler;
import dev.pipeinfer.pipeline.StageStats;
import java.util.List;
import java.util.Arrays;

/**
 * Plain pipelined decoding (the baseline of DESIGN §7): the prompt in chunks, then one single-token run at
 * a time. With N stages only one of them works at any moment during generation; the others wait.
 */
public final class IterativeDecoder implements Decoder {
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
        List<StageStats> before = head.pipeline().stats();
        DecodeMetrics metrics = new DecodeMetrics(mode());
        Sampler sampler = new Sampler(request.sampling(), head.vocabSize());
        ResultForm form = PromptRuns.formFor(request.sampling());
        int[] prompt = request.prompt();
        if (prompt.length >= head.contextSize()) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens but the context holds "
                    + head.contextSize() + "; raise --ctx");
        }
        head.clearCaches();
        for (int t : prompt) sampler.accept(t);

        Result last = PromptRuns.evaluate(head, prompt, form);
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
        metrics.stages(before, head.pipeline().stats());
        return new GenerationResult(Arrays.copyOf(out, generated), stop, metrics);
    }

}
