package dev.pipeinfer.speculation;

/**
 * Tokens the draft model proposes after a context, as a tree: node i is {@code tokens[i]}, a child of
 * node {@code parents[i]} or, for -1, of the context's last token. Branch 0 is the main branch (the
 * draft's own choices all the way); {@code branchMasks[i]} has bit b set when branch b passes through
 * node i. {@code proposalIds/Probs[i]} is the distribution node i was drawn from (null: chosen
 * deterministically, i.e. a point mass), which lossless verification needs. Parents precede children.
 */
record DraftTree(int[] tokens, int[] parents, int[] depths, long[] branchMasks, int branches, int[] mainPath,
                 int[][] proposalIds, float[][] proposalProbs) {

    static final DraftTree EMPTY = new DraftTree(new int[0], new int[0], new int[0], new long[0], 0, new int[0],
            new int[0][], new float[0][]);

    int size() {
        return tokens.length;
    }

    boolean isEmpty() {
        return tokens.length == 0;
    }

    /** Tokens of the main branch, root first. */
    int[] mainTokens() {
        int[] out = new int[mainPath.length];
        for (int i = 0; i < mainPath.length; i++) out[i] = tokens[mainPath[i]];
        return out;
    }
}
