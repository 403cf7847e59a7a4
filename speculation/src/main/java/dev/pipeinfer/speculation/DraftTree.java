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

    /**
     * The subtree strictly below {@code node}, as a tree of its own (its roots are node's children): what
     * is left to verify once node has been accepted. Its main branch follows node's lowest branch.
     */
    DraftTree below(int node) {
        int n = size();
        int[] index = new int[n];
        java.util.Arrays.fill(index, -2);
        index[node] = -1;
        int count = 0;
        for (int i = node + 1; i < n; i++) if (parents[i] >= 0 && index[parents[i]] != -2) index[i] = count++;
        int[] t = new int[count], p = new int[count], d = new int[count];
        long[] m = new long[count];
        int[][] ids = new int[count][];
        float[][] probs = new float[count][];
        for (int i = node + 1; i < n; i++) {
            int j = index[i];
            if (j < 0) continue;
            t[j] = tokens[i];
            p[j] = index[parents[i]];
            d[j] = depths[i] - depths[node] - 1;
            m[j] = branchMasks[i];
            ids[j] = proposalIds[i];
            probs[j] = proposalProbs[i];
        }
        return new DraftTree(t, p, d, m, branches, nodesOfBranch(m, Long.lowestOneBit(branchMasks[node])), ids, probs);
    }

    /** The nodes that {@code branch} (a single mask bit) passes through, in index order, i.e. root first. */
    static int[] nodesOfBranch(long[] branchMasks, long branch) {
        return java.util.stream.IntStream.range(0, branchMasks.length).filter(i -> (branchMasks[i] & branch) != 0).toArray();
    }

    /** Tokens of the main branch, root first. */
    int[] mainTokens() {
        int[] out = new int[mainPath.length];
        for (int i = 0; i < mainPath.length; i++) out[i] = tokens[mainPath[i]];
        return out;
    }
}
