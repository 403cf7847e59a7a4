package dev.pipeinfer.pipeline.fake;

import dev.pipeinfer.pipeline.ActivationPool;
import dev.pipeinfer.pipeline.Activations;
import dev.pipeinfer.pipeline.KvEdit;
import dev.pipeinfer.pipeline.Message;
import dev.pipeinfer.pipeline.Pipeline;
import dev.pipeinfer.pipeline.Result;
import dev.pipeinfer.pipeline.ResultBuilder;
import dev.pipeinfer.pipeline.ResultForm;
import dev.pipeinfer.pipeline.Run;
import dev.pipeinfer.pipeline.RunHeader;
import dev.pipeinfer.pipeline.RunKind;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The reference: the same fake stages called one after another in this thread, no links, no
 * threads. Also generates seeded streams of runs and KV edits like a decoder would send.
 */
public final class FakeModel {
    private final List<FakeStageCompute> stages;
    private final ActivationPool pool = new ActivationPool();

    public FakeModel(List<FakeStageCompute> stages) {
        this.stages = stages;
    }

    /** Runs one message through every stage directly; a Result for runs, null for edits. */
    public Result apply(Message m) {
        switch (m) {
            case KvEdit edit -> {
                for (FakeStageCompute s : stages) s.applyKvEdit(edit);
                return null;
            }
            case Run run -> {
                RunHeader h = run.header();
                Activations in = null;
                ResultBuilder results = new ResultBuilder(h);
                for (FakeStageCompute s : stages) {
                    Activations out = s.isLast() ? null : pool.acquire(h.tokenCount(), s.embeddingSize());
                    s.compute(h, s.isFirst() ? run.tokens() : null, in, out, results, () -> false);
                    if (in != null) in.release();
                    in = out;
                }
                return results.build();
            }
            default -> throw new IllegalArgumentException("reference takes runs and edits, not " + m);
        }
    }

    /**
     * A seeded stream like a speculative decoder's: prompt, steps and speculative runs under their own
     * sequence ids, commits into sequence 0 and removals of rejected sequences. Run ids from 1 up.
     */
    public static List<Message> stream(long seed, int messages, int vocab) {
        Random random = new Random(seed);
        List<Message> out = new ArrayList<>();
        long runId = 1;
        int position = 0;
        for (int m = 0; m < messages; m++) {
            if (m > 0 && random.nextInt(4) == 0) {
                int seq = 1 + random.nextInt(5);
                int p0 = Math.max(0, position - 4);
                out.add(switch (random.nextInt(3)) {
                    case 0 -> KvEdit.of(new KvEdit.Commit(seq, 0, p0, position));
                    case 1 -> KvEdit.of(new KvEdit.Remove(seq, p0, position + 4));
                    default -> KvEdit.of(new KvEdit.Commit(seq, 0, p0, position), new KvEdit.Remove(seq, 0, position + 8));
                });
                continue;
            }
            RunKind kind = m == 0 ? RunKind.PROMPT : random.nextBoolean() ? RunKind.STEP : RunKind.SPECULATIVE;
            int n = kind == RunKind.PROMPT ? 5 + random.nextInt(6) : kind == RunKind.STEP ? 1 : 1 + random.nextInt(4);
            int[] tokens = new int[n];
            int[] positions = new int[n];
            long[] sets = new long[n];
            for (int t = 0; t < n; t++) {
                tokens[t] = random.nextInt(vocab * 3);
                positions[t] = position + t;
                sets[t] = kind == RunKind.SPECULATIVE ? (1L << (1 + random.nextInt(5))) | (t == 0 ? 1 : 0) : 1;
            }
            if (kind != RunKind.SPECULATIVE) position += n;
            int[] outputs = kind == RunKind.PROMPT ? new int[]{n - 1} : range(n);
            ResultForm form = switch (random.nextInt(3)) {
                case 0 -> ResultForm.ARGMAX;
                case 1 -> ResultForm.topK(1 + random.nextInt(4));
                default -> ResultForm.LOGITS;
            };
            out.add(Run.ofTokens(new RunHeader(runId++, kind, positions, sets, outputs, form), tokens));
        }
        if (!(out.getLast() instanceof Run)) {
            // End on a run, so that its answer proves every edit before it has been applied.
            out.add(Run.ofTokens(new RunHeader(runId, RunKind.STEP, new int[]{position}, new long[]{1}, new int[]{0},
                    ResultForm.ARGMAX), new int[]{1}));
        }
        return out;
    }

    /**
     * Submits the stream from another thread (links are bounded, so submitting everything before
     * reading would stall) and returns the pipeline's answers, one per run, in order.
     */
    public static List<Message> drive(Pipeline pipeline, List<Message> stream) throws Exception {
        return drive(pipeline, stream, java.util.Set.of());
    }

    /** As {@link #drive(Pipeline, List)}, cancelling the runs in {@code cancel} just before submitting them. */
    public static List<Message> drive(Pipeline pipeline, List<Message> stream, java.util.Set<Long> cancel) throws Exception {
        long runs = stream.stream().filter(m -> m instanceof Run).count();
        var submitter = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
        try (submitter) {
            var submitted = submitter.submit(() -> {
                for (Message m : stream) {
                    if (m instanceof Run r && cancel.contains(r.runId())) pipeline.cancel(r.runId());
                    if (m instanceof Run r) pipeline.submit(r);
                    else pipeline.send((KvEdit) m);
                }
                return null;
            });
            List<Message> answers = new ArrayList<>();
            for (long i = 0; i < runs; i++) answers.add(pipeline.next());
            submitted.get();
            return answers;
        }
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }
}
