package dev.pipeinfer.pipeline;

import java.util.Arrays;

/**
 * The part of a run every stage needs: which tokens sit where. {@code positions[i]} and
 * {@code sequenceSets[i]} describe batch row i (a sequence set is a bitmask of sequence ids 0..63, as
 * in the KV cache of DESIGN section 6); {@code outputRows} lists, ascending, the rows whose logits the
 * last stage must turn into a result.
 *
 * <p>Run ids strictly increase along the stream that the head submits: stages rely on it to forget
 * cancellations of runs that have already passed them.
 */
public record RunHeader(long runId, RunKind kind, int[] positions, long[] sequenceSets, int[] outputRows,
                        ResultForm resultForm) {

    public RunHeader {
        if (kind == null || positions == null || sequenceSets == null || outputRows == null || resultForm == null) {
            throw new IllegalArgumentException("run " + runId + ": null field");
        }
        if (positions.length == 0) {
            throw new IllegalArgumentException("run " + runId + ": no tokens");
        }
        if (sequenceSets.length != positions.length) {
            throw new IllegalArgumentException("run " + runId + ": " + positions.length + " positions but "
                    + sequenceSets.length + " sequence sets");
        }
        for (int i = 0; i < positions.length; i++) {
            if (positions[i] < 0) {
                throw new IllegalArgumentException("run " + runId + ": row " + i + " has negative position " + positions[i]);
            }
            if (sequenceSets[i] == 0) {
                throw new IllegalArgumentException("run " + runId + ": row " + i + " belongs to no sequence");
            }
        }
        int previous = -1;
        for (int row : outputRows) {
            if (row <= previous || row >= positions.length) {
                throw new IllegalArgumentException("run " + runId + ": output rows " + Arrays.toString(outputRows)
                        + " must ascend within [0," + positions.length + ")");
            }
            previous = row;
        }
    }

    public int tokenCount() {
        return positions.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RunHeader h && runId == h.runId && kind == h.kind
                && Arrays.equals(positions, h.positions) && Arrays.equals(sequenceSets, h.sequenceSets)
                && Arrays.equals(outputRows, h.outputRows) && resultForm.equals(h.resultForm);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(runId) * 31 + Arrays.hashCode(positions);
    }

    @Override
    public String toString() {
        return "RunHeader[run " + runId + " " + kind + ", positions " + Arrays.toString(positions)
                + ", outputs " + Arrays.toString(outputRows) + ", " + resultForm + "]";
    }
}
