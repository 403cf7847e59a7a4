package dev.pipeinfer.pipeline;

import java.util.Arrays;

/**
 * What the last stage sends to the head for one run: for each requested output row (the run's
 * {@code outputRows}, in the same order) the argmax token id, and depending on the run's
 * {@link ResultForm} the top-k (token id, probability) pairs, best first, or the full logits row.
 *
 * <p>Arrays are row-major: {@code topIds[r * topK + j]}, {@code logits[r * vocabSize + v]}. Fields the
 * form does not ask for are empty arrays.
 */
public record Result(long runId, ResultForm form, int[] rows, int[] argmax, int[] topIds, float[] topProbs,
                     int vocabSize, float[] logits) implements Message {

    public Result {
        if (form == null || rows == null || argmax == null || topIds == null || topProbs == null || logits == null) {
            throw new IllegalArgumentException("result of run " + runId + ": null field");
        }
        int n = rows.length;
        int k = form.mode() == ResultForm.Mode.TOP_K ? form.topK() : 0;
        if (argmax.length != n || topIds.length != (long) n * k || topProbs.length != topIds.length) {
            throw new IllegalArgumentException("result of run " + runId + ": array lengths do not match "
                    + n + " rows and top-" + k);
        }
        if (form.mode() == ResultForm.Mode.LOGITS ? vocabSize <= 0 || logits.length != (long) n * vocabSize
                : logits.length != 0) {
            throw new IllegalArgumentException("result of run " + runId + ": " + logits.length
                    + " logits for " + n + " rows of vocabulary " + vocabSize);
        }
    }

    public int rowCount() {
        return rows.length;
    }

    /** Top-k width, 0 unless the form is TOP_K. */
    public int topK() {
        return form.mode() == ResultForm.Mode.TOP_K ? form.topK() : 0;
    }

    @Override
    public long nominalBytes() {
        return 24 + 8L * rows.length + 8L * topIds.length + 4L * logits.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Result r && runId == r.runId && form.equals(r.form) && vocabSize == r.vocabSize
                && Arrays.equals(rows, r.rows) && Arrays.equals(argmax, r.argmax)
                && Arrays.equals(topIds, r.topIds) && Arrays.equals(topProbs, r.topProbs)
                && Arrays.equals(logits, r.logits);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(runId) * 31 + Arrays.hashCode(argmax);
    }

    @Override
    public String toString() {
        return "Result[run " + runId + ", rows " + Arrays.toString(rows) + ", argmax " + Arrays.toString(argmax)
                + (topIds.length > 0 ? ", top " + Arrays.toString(topIds) : "")
                + (logits.length > 0 ? ", " + logits.length + " logits" : "") + "]";
    }
}
