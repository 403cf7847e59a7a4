package dev.pipeinfer.pipeline;

/**
 * Turns the last stage's logits rows into the compact {@link Result} the run asked for. Argmax and
 * top-k break ties toward the lower token id (as ggml's argmax does); top-k probabilities are the
 * softmax over the whole row.
 */
public final class ResultBuilder implements StageCompute.ResultSink {
    private final RunHeader run;
    private final int n;
    private final int k;
    private final int[] argmax;
    private final int[] topIds;
    private final float[] topProbs;
    private final boolean[] filled;
    private float[] logits = new float[0];
    private int vocabSize;

    public ResultBuilder(RunHeader run) {
        this.run = run;
        this.n = run.outputRows().length;
        this.k = run.resultForm().mode() == ResultForm.Mode.TOP_K ? run.resultForm().topK() : 0;
        this.argmax = new int[n];
        this.topIds = new int[n * k];
        this.topProbs = new float[n * k];
        this.filled = new boolean[n];
    }

    @Override
    public void accept(int outputIndex, float[] row, int offset, int vocab) {
        if (outputIndex < 0 || outputIndex >= n) {
            throw new IllegalArgumentException("run " + run.runId() + ": output index " + outputIndex + " of " + n);
        }
        if (vocab <= 0 || (vocabSize != 0 && vocab != vocabSize)) {
            throw new IllegalArgumentException("run " + run.runId() + ": logits row of width " + vocab
                    + " after rows of width " + vocabSize);
        }
        vocabSize = vocab;
        filled[outputIndex] = true;
        argmax[outputIndex] = argmax(row, offset, vocab);
        switch (run.resultForm().mode()) {
            case ARGMAX -> { }
            case TOP_K -> topK(row, offset, vocab, outputIndex);
            case LOGITS -> {
                if (logits.length == 0) logits = new float[n * vocab];
                System.arraycopy(row, offset, logits, outputIndex * vocab, vocab);
            }
        }
    }

    /** The finished result; every output row must have been delivered. */
    public Result build() {
        for (int i = 0; i < n; i++) {
            if (!filled[i]) {
                throw new IllegalStateException("run " + run.runId() + ": no logits for output row "
                        + run.outputRows()[i]);
            }
        }
        return new Result(run.runId(), run.resultForm(), run.outputRows().clone(), argmax, topIds, topProbs,
                run.resultForm().mode() == ResultForm.Mode.LOGITS ? vocabSize : 0, logits);
    }

    static int argmax(float[] row, int offset, int vocab) {
        int best = 0;
        float bestValue = row[offset];
        for (int v = 1; v < vocab; v++) {
            if (row[offset + v] > bestValue) {
                bestValue = row[offset + v];
                best = v;
            }
        }
        return best;
    }

    private void topK(float[] row, int offset, int vocab, int outputIndex) {
        int base = outputIndex * k;
        int kept = 0;
        // Insertion into a descending list of at most k entries; ties keep the earlier (lower) id first.
        for (int v = 0; v < vocab; v++) {
            float value = row[offset + v];
            if (kept == k && value <= row[offset + topIds[base + k - 1]]) continue;
            int at = Math.min(kept, k - 1);
            while (at > 0 && value > row[offset + topIds[base + at - 1]]) {
                topIds[base + at] = topIds[base + at - 1];
                at--;
            }
            topIds[base + at] = v;
            if (kept < k) kept++;
        }
        float max = row[offset + topIds[base]];
        double sum = 0;
        for (int v = 0; v < vocab; v++) sum += Math.exp(row[offset + v] - max);
        for (int j = 0; j < k; j++) {
            topProbs[base + j] = j < kept ? (float) (Math.exp(row[offset + topIds[base + j]] - max) / sum) : 0f;
        }
    }
}
