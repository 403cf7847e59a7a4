package dev.pipeinfer.pipeline;

/** Why a run was launched; stages treat all kinds alike, the head and the metrics tell them apart. */
public enum RunKind {
    /** Prompt processing: many tokens, usually only the last row needs output. */
    PROMPT,
    /** A guaranteed single-token decoding step. */
    STEP,
    /** A speculative micro-batch (a small draft tree) that may be cancelled. */
    SPECULATIVE;

    private static final RunKind[] VALUES = values();

    public static RunKind ofOrdinal(int ordinal) {
        if (ordinal < 0 || ordinal >= VALUES.length) {
            throw new IllegalArgumentException("unknown run kind " + ordinal);
        }
        return VALUES[ordinal];
    }
}
