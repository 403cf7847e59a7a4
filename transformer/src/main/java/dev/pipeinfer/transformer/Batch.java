package dev.pipeinfer.transformer;

import dev.pipeinfer.transformer.kv.SequenceSet;

import java.util.Arrays;

/**
 * The input of one forward pass over a layer slice: n tokens, each with a position, a sequence set and a
 * flag saying whether its output row is wanted. The payload is either token ids (for the slice that holds
 * the embedding) or activations {@code [n x embd]} produced by the previous slice.
 *
 * <p>Arrays are owned by the batch (copied in), so a caller can reuse its own buffers.
 */
public final class Batch {
    private final int size;
    private final int[] tokens;
    private final float[] activations;
    private final int width;
    private final int[] positions;
    private final long[] sequences;
    private final boolean[] outputs;
    private final int outputCount;

    private Batch(int size, int[] tokens, float[] activations, int width, int[] positions, long[] sequences,
                  boolean[] outputs) {
        if (size <= 0) throw new IllegalArgumentException("a batch needs at least one token");
        if (positions.length < size || sequences.length < size || outputs.length < size) {
            throw new IllegalArgumentException("batch of " + size + " tokens given " + positions.length + " positions, "
                    + sequences.length + " sequence sets and " + outputs.length + " output flags");
        }
        int count = 0;
        for (int i = 0; i < size; i++) {
            if (positions[i] < 0) throw new IllegalArgumentException("token " + i + ": negative position " + positions[i]);
            if (sequences[i] == SequenceSet.EMPTY) throw new IllegalArgumentException("token " + i + ": empty sequence set");
            if (outputs[i]) count++;
        }
        this.size = size;
        this.tokens = tokens;
        this.activations = activations;
        this.width = width;
        this.positions = Arrays.copyOf(positions, size);
        this.sequences = Arrays.copyOf(sequences, size);
        this.outputs = Arrays.copyOf(outputs, size);
        this.outputCount = count;
    }

    /** A batch of token ids, for the first slice. */
    public static Batch ofTokens(int[] tokens, int[] positions, long[] sequences, boolean[] outputs) {
        return new Batch(tokens.length, tokens.clone(), null, 0, positions, sequences, outputs);
    }

    /** A batch of activations {@code [n x width]} (row-major), for a slice after the first. */
    public static Batch ofActivations(float[] activations, int n, int width, int[] positions, long[] sequences,
                                      boolean[] outputs) {
        if (width <= 0 || activations.length < (long) n * width) {
            throw new IllegalArgumentException("activations of length " + activations.length + " do not hold " + n
                    + " rows of " + width);
        }
        return new Batch(n, null, Arrays.copyOf(activations, n * width), width, positions, sequences, outputs);
    }

    /**
     * Consecutive tokens of one sequence starting at {@code firstPosition}; only the last token's output is
     * wanted unless {@code allOutputs}.
     */
    public static Batch sequence(int[] tokens, int firstPosition, int seq, boolean allOutputs) {
        int n = tokens.length;
        int[] pos = new int[n];
        long[] seqs = new long[n];
        boolean[] out = new boolean[n];
        for (int i = 0; i < n; i++) {
            pos[i] = firstPosition + i;
            seqs[i] = SequenceSet.of(seq);
            out[i] = allOutputs || i == n - 1;
        }
        return ofTokens(tokens, pos, seqs, out);
    }

    /** The same tokens, positions, sequence sets and output flags, carrying activations instead. */
    public Batch withActivations(float[] rows, int rowWidth) {
        return ofActivations(rows, size, rowWidth, positions, sequences, outputs);
    }

    public int size() {
        return size;
    }

    public boolean hasTokens() {
        return tokens != null;
    }

    public int token(int i) {
        if (tokens == null) throw new IllegalStateException("this batch carries activations, not token ids");
        return tokens[i];
    }

    /** The activations, row-major {@code [size x width]}; read-only by convention. */
    public float[] activations() {
        if (activations == null) throw new IllegalStateException("this batch carries token ids, not activations");
        return activations;
    }

    public int activationWidth() {
        return width;
    }

    public int position(int i) {
        return positions[i];
    }

    public long sequences(int i) {
        return sequences[i];
    }

    public boolean wantsOutput(int i) {
        return outputs[i];
    }

    /** Number of tokens whose output row is wanted. */
    public int outputCount() {
        return outputCount;
    }

    int[] positionsArray() {
        return positions;
    }

    long[] sequencesArray() {
        return sequences;
    }

    @Override
    public String toString() {
        return "Batch[" + size + (tokens != null ? " tokens" : " activation rows") + ", positions "
                + positions[0] + ".." + positions[size - 1] + ", " + outputCount + " outputs]";
    }
}
