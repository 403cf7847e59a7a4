package dev.pipeinfer.transformer;

/**
 * What a slice's forward pass produced: either activations {@code [rows x width]} for the next slice (one
 * row per batch token, width = n_embd), or, from the slice that holds the output head, logits
 * {@code [rows x width]} (one row per token that asked for output, in batch order, width = n_vocab).
 *
 * @param data row-major values, owned by the caller
 */
public record SliceOutput(boolean logits, int rows, int width, float[] data) {

    /** Offset of row {@code r} in {@link #data}. */
    public int rowOffset(int r) {
        return r * width;
    }

    /** A copy of row {@code r}. */
    public float[] row(int r) {
        return java.util.Arrays.copyOfRange(data, r * width, (r + 1) * width);
    }
}
