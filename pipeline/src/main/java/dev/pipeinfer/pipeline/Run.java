package dev.pipeinfer.pipeline;

/**
 * A batch of tokens on its way down the pipeline. Into stage 0 it carries the token ids
 * ({@code tokens}, one per row); between stages it carries the activations [n_tokens x n_embd]
 * instead. Exactly one of the two is present.
 */
public record Run(RunHeader header, int[] tokens, Activations activations) implements Message {

    public Run {
        if (header == null) throw new IllegalArgumentException("run without header");
        if ((tokens == null) == (activations == null)) {
            throw new IllegalArgumentException("run " + header.runId() + " must carry either token ids or activations");
        }
        if (tokens != null && tokens.length != header.tokenCount()) {
            throw new IllegalArgumentException("run " + header.runId() + ": " + tokens.length + " token ids for "
                    + header.tokenCount() + " rows");
        }
        if (activations != null && activations.rows() != header.tokenCount()) {
            throw new IllegalArgumentException("run " + header.runId() + ": " + activations.rows()
                    + " activation rows for " + header.tokenCount() + " tokens");
        }
    }

    public static Run ofTokens(RunHeader header, int[] tokens) {
        return new Run(header, tokens, null);
    }

    public static Run ofActivations(RunHeader header, Activations activations) {
        return new Run(header, null, activations);
    }

    public long runId() {
        return header.runId();
    }

    /** Gives the activation buffer (if any) back to its pool. */
    public void release() {
        if (activations != null) activations.release();
    }

    @Override
    public long nominalBytes() {
        long rows = header.tokenCount();
        return 32 + rows * 12 + 4L * header.outputRows().length
                + (tokens != null ? 4L * tokens.length : 4L * activations.length());
    }

    @Override
    public String toString() {
        return "Run[" + header.runId() + " " + header.kind() + " x" + header.tokenCount()
                + (tokens != null ? " tokens" : " " + activations) + "]";
    }
}
