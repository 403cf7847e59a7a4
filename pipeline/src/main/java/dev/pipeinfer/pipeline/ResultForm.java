package dev.pipeinfer.pipeline;

/**
 * What the last stage sends back for each requested row: always the argmax, plus either the top-k
 * (token id, probability) pairs or the full logits row. Greedy verification needs only the argmax;
 * sampling needs top-k or the logits.
 */
public record ResultForm(Mode mode, int topK) {

    public enum Mode { ARGMAX, TOP_K, LOGITS }

    public static final ResultForm ARGMAX = new ResultForm(Mode.ARGMAX, 0);
    public static final ResultForm LOGITS = new ResultForm(Mode.LOGITS, 0);

    public ResultForm {
        if (mode == null) throw new IllegalArgumentException("result form mode is null");
        if (mode == Mode.TOP_K ? topK < 1 || topK > 1 << 16 : topK != 0) {
            throw new IllegalArgumentException("result form " + mode + " with top-k " + topK);
        }
    }

    public static ResultForm topK(int k) {
        return new ResultForm(Mode.TOP_K, k);
    }
}
