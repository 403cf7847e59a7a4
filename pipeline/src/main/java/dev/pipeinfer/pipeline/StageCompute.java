package dev.pipeinfer.pipeline;

import java.util.function.BooleanSupplier;

/**
 * What a stage computes: a contiguous slice of the model's layers (DESIGN section 4), implemented over
 * a transformer layer slice. The stage thread only orchestrates; an implementation does its heavy
 * work on the node's platform-thread pool inside {@link #compute}.
 *
 * <p>Calls come one at a time, each after the previous one has returned, in stream order: runs and KV edits
 * interleaved exactly as they arrived. Runs are computed on the stage's compute thread (a platform thread), KV
 * edits applied on its stage thread.
 */
public interface StageCompute {

    /** n_embd: width of the activation rows between stages. */
    int embeddingSize();

    /** True for stage 0: takes token ids (embedding lookup) instead of activations. */
    boolean isFirst();

    /** True for the last stage: produces logits rows (output norm + lm_head) instead of activations. */
    boolean isLast();

    /**
     * Runs one batch through this slice.
     *
     * @param run             positions, sequence sets and output rows of the batch
     * @param tokens          token ids, one per row (first stage only, else null)
     * @param in              input activations [n x n_embd] (not on the first stage, else null)
     * @param out             output activations [n x n_embd] to fill (not on the last stage, else null)
     * @param results         last stage only: receives one logits row per entry of {@code run.outputRows()}
     * @param cancelled       checked between layers; once true, return false promptly
     * @return false if the run was abandoned because {@code cancelled} became true
     */
    boolean compute(RunHeader run, int[] tokens, Activations in, Activations out, ResultSink results,
                    BooleanSupplier cancelled);

    /** Applies a KV cache edit, in stream order with the runs. */
    void applyKvEdit(KvEdit edit);

    /**
     * Called once when the stage is connected and has nothing to do until its first message (a worker, after the
     * handshake): it may start work that makes the first run faster, such as compiling the kernels by running
     * them on made-up input, which the first run or KV edit then waits for. Does nothing by default.
     */
    default void startWarmUp() {}

    /** Receives the logits rows the last stage computes. */
    @FunctionalInterface
    interface ResultSink {
        /**
         * One logits row for output number {@code outputIndex} (index into {@code run.outputRows()}).
         * The values are read before this call returns, so the array may be reused.
         */
        void accept(int outputIndex, float[] logits, int offset, int vocabSize);
    }
}
