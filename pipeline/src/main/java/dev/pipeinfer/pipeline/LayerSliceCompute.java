package dev.pipeinfer.pipeline;

import dev.pipeinfer.transformer.Batch;
import dev.pipeinfer.transformer.ForwardCancelledException;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOutput;
import dev.pipeinfer.transformer.kv.KvCache;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * A stage computed by the engine: one {@link LayerSlice} (its layers, its own KV cache). Runs become
 * {@link Batch}es, a cancelled forward pass (which frees its KV cells itself) becomes {@code false},
 * logits rows go to the result sink, and KV edits map one to one onto the cache's sequence operations.
 *
 * <p>A worker warms its slice up while it waits for its first run ({@link #warmUpWhileIdle}). The first run stops
 * the warm-up at its next layer and waits for it; KV edits that arrive during it are kept and applied, in
 * order, when it has ended (it empties the cache it used, so they find the cache they were sent for).
 */
public final class LayerSliceCompute implements StageCompute {
    /** How long a warm-up goes on after its first pass (see {@link LayerSlice#warmUp}). */
    private static final long WARM_UP_BUDGET_MILLIS = 2_000;

    /** What a warm-up runs: {@link LayerSlice#warmUp}, or in tests one that pauses where the test wants it to. */
    @FunctionalInterface
    interface WarmUp {
        void run(LayerSlice slice, long budgetMillis, BooleanSupplier stop);
    }

    private final LayerSlice slice;
    private final WarmUp warmUpPasses;
    private final List<KvEdit> editsDuringWarmUp = new ArrayList<>();
    private volatile Thread warmUp;
    private volatile boolean runArrived;

    public LayerSliceCompute(LayerSlice slice) {
        this(slice, LayerSlice::warmUp);
    }

    LayerSliceCompute(LayerSlice slice, WarmUp warmUpPasses) {
        this.slice = slice;
        this.warmUpPasses = warmUpPasses;
    }

    /**
     * Warms the slice up ({@link LayerSlice#warmUp}) on a platform thread of its own, so that the node's other
     * threads (a worker's connections, on virtual threads) still get the CPU while it computes. Workers start it
     * from {@link StageCompute#startWarmUp}, after the handshake: their first prompt reaches them only once the
     * stages before them have computed it, so on a pipeline of several machines the warm-up costs the first token
     * nothing. Stages sharing a process with the head do not warm up, as there it would take the cores the first
     * prompt needs. Measured with a head and a worker pinned to a core each (1.1B Q4_0, a 40-token prompt, five
     * interleaved rounds): first token after 7.7-8.4 s without, 5.6-6.0 s with.
     */
    public void warmUpWhileIdle() {
        if (warmUp != null) return;
        warmUp = Thread.ofPlatform().daemon().name("warm-up " + slice).start(() -> {
            try {
                warmUpPasses.run(slice, WARM_UP_BUDGET_MILLIS, () -> runArrived);
            } catch (RuntimeException e) {
                // made-up input the slice cannot take (a context of a few cells): the first real run says what is wrong
            }
        });
    }

    /** Whether a warm-up is still running. */
    boolean warmingUp() {
        Thread running = warmUp;
        return running != null && running.isAlive();
    }

    /**
     * Waits for the warm-up to end (at its next layer when {@code stop}), then applies the KV edits it held back.
     * Synchronized with the deferral in {@link #applyKvEdit} for {@link #stopWarmUp}, which a closing session may
     * call from another thread.
     */
    private synchronized void endWarmUp(boolean stop) {
        Thread running = warmUp;
        if (running == null) return;
        if (stop) runArrived = true;
        boolean interrupted = false;
        while (true) {
            try {
                running.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        warmUp = null;
        for (KvEdit edit : editsDuringWarmUp) apply(edit);
        editsDuringWarmUp.clear();
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Whether a run (or a closing session) has asked the warm-up to stop. */
    boolean stopRequested() {
        return runArrived;
    }

    /** How many KV edits wait for the warm-up to end. */
    synchronized int editsHeldBack() {
        return editsDuringWarmUp.size();
    }

    /** Stops a running warm-up at its next layer and waits for it: before the node's pool is closed. */
    public void stopWarmUp() {
        endWarmUp(true);
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
        endWarmUp(true);
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
        synchronized (this) {
            if (warmingUp()) {
                editsDuringWarmUp.add(edit);
                return;
            }
        }
        endWarmUp(false);
        apply(edit);
    }

    private void apply(KvEdit edit) {
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
