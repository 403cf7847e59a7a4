package dev.pipeinfer.speculation;

import dev.pipeinfer.pipeline.KvEdit;
import dev.pipeinfer.pipeline.Message;
import dev.pipeinfer.pipeline.Pipeline;
import dev.pipeinfer.pipeline.Result;
import dev.pipeinfer.pipeline.ResultForm;
import dev.pipeinfer.pipeline.Run;
import dev.pipeinfer.pipeline.RunHeader;
import dev.pipeinfer.pipeline.RunKind;
import java.util.ArrayList;
import java.util.List;

/**
 * The head node's handle on the target model's pipeline, shared by the decoders: it numbers runs (ids
 * must increase over the pipeline's whole life, across generations), builds runs, and knows the
 * model's vocabulary and context sizes.
 */
public final class Head {
    private final Pipeline pipeline;
    private final int vocabSize;
    private final int contextSize;
    private long nextRunId = 1;
    private long nextBarrierId = 1;

    public Head(Pipeline pipeline, int vocabSize, int contextSize) {
        this.pipeline = pipeline;
        this.vocabSize = vocabSize;
        this.contextSize = contextSize;
    }

    public Pipeline pipeline() {
        return pipeline;
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** KV cells per stage: the most tokens, over all live sequences, a stage can hold. */
    public int contextSize() {
        return contextSize;
    }

    /** A fresh run id, for callers that build their runs themselves. */
    public long newRunId() {
        return nextRunId++;
    }

    /** Submits a run of tokens with one sequence set per token; returns its id. */
    public long submit(RunKind kind, int[] tokens, int[] positions, long[] sequenceSets, int[] outputRows,
                       ResultForm form) throws InterruptedException {
        long id = nextRunId++;
        pipeline.submit(Run.ofTokens(new RunHeader(id, kind, positions, sequenceSets, outputRows, form), tokens));
        return id;
    }

    /**
     * Sends a {@link Message.Barrier} behind everything sent so far; when it comes out of the pipeline (with the
     * returned id), every stage has applied all earlier runs and KV edits.
     */
    public long sendBarrier() throws InterruptedException {
        long id = nextBarrierId++;
        pipeline.send(new Message.Barrier(id));
        return id;
    }

    /** Empties every stage's KV cache (all sequences), in order with the runs. */
    public void clearCaches() throws InterruptedException {
        List<KvEdit.Op> ops = new ArrayList<>();
        for (int seq = 0; seq < KvEdit.MAX_SEQUENCES; seq++) ops.add(new KvEdit.Remove(seq, 0, Integer.MAX_VALUE));
        pipeline.send(new KvEdit(ops));
    }

    /** The next answer; a tombstone where this caller expects a result is a bug in the caller's bookkeeping. */
    public Result nextResult(long expectedRunId) throws InterruptedException {
        Message m = pipeline.next();
        if (m instanceof Result r && r.runId() == expectedRunId) return r;
        throw new IllegalStateException("expected the result of run " + expectedRunId + ", got " + m);
    }
}
