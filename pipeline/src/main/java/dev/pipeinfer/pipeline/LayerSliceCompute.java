package dev.pipeinfer.pipeline;

import dev.pipeinfer.transformer.Batch;
import dev.pipeinfer.transformer.ForwardCancelledException;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOutput;
import dev.pipeinfer.transformer.kv.KvCache;

import java.util.function.BooleanSupplier;

/**
 * A stage computed by the engine: one {@link LayerSlice} (its layers, its own KV cache). Runs become
 * {@link Batch}es, a cancelled forward pass (which frees its KV cells itself) becomes {@code false},
 * logits rows go to the result sink, and KV edits map one to one onto the cache's sequence operations.
 */
public final class LayerSliceCompute implements StageCompute {
    private final LayerSlice slice;

    public LayerSliceCompute(LayerSlice slice) {
        this.slice = slice;
    }

    public LayerSlice slice() {
        return slice;
    }

    @Override
    public int embeddingSize() {
        return slice.config().embd();
    }

    @Override
    public boolean isFirst() {
        return slice.hasEmbedding();
    }

    @Override
    public boolean isLast() {
        return slice.hasOutput();
    }

    @Override
    public boolean compute(RunHeader run, int[] tokens, Activations in, Activations out, ResultSink results,
                           BooleanSupplier cancelled) {
        int n = run.tokenCount();
        boolean[] wanted = new boolean[n];
        for (int row : run.outputRows()) wanted[row] = true;
        Batch batch = tokens != null
                ? Batch.ofTokens(tokens, run.positions(), run.sequenceSets(), wanted)
                : Batch.ofActivations(in.data(), n, in.width(), run.positions(), run.sequenceSets(), wanted);
        SliceOutput output;
        try {
            output = slice.forward(batch, cancelled);
        } catch (ForwardCancelledException e) {
            return false;
        }
        if (output.logits()) {
            for (int r = 0; r < output.rows(); r++) results.accept(r, output.data(), output.rowOffset(r), output.width());
        } else {
            System.arraycopy(output.data(), 0, out.data(), 0, n * output.width());
        }
        return true;
    }

    @Override
    public void applyKvEdit(KvEdit edit) {
        KvCache kv = slice.kvCache();
        for (KvEdit.Op op : edit.ops()) {
            switch (op) {
                case KvEdit.Commit c -> kv.copySequence(c.src(), c.dst(), c.p0(), c.p1());
                case KvEdit.Remove r -> kv.removeSequence(r.seq(), r.p0(), r.p1());
                case KvEdit.Keep k -> kv.keepOnly(k.seq());
            }
        }
    }

    @Override
    public String toString() {
        return "LayerSliceCompute[" + slice + "]";
    }
}
