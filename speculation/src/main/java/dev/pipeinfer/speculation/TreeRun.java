package dev.pipeinfer.speculation;

import dev.pipeinfer.pipeline.RunKind;

/**
 * A run in flight, as the head remembers it: a small token tree at positions {@code base + depth}. Node i
 * is a child of node {@code parents[i]}, or for -1 of the text before the run: the last node of the
 * previous run's main path, or the last accepted token. When {@code certainRoot} is set node 0 is a token
 * already accepted (tagged with sequence 0 as well), and the tree hangs below it. Every node asks for
 * output, so result row i is the target's prediction after node i.
 */
final class TreeRun {
    final long id;
    final RunKind kind;
    final int base;
    final int[] tokens;
    final int[] parents;
    final int[] depths;
    final int[][] proposalIds;
    final float[][] proposalProbs;
    final long[] branchMasks;
    final int[] seqIds;        // pool ids, one per branch
    final long[] sequenceSets; // per node
    int[] mainPath;            // the path the runs after this one assume (see followBranchOf)
    final boolean certainRoot;
    int acceptedRoot = -1;     // depth-0 node accepted by the previous run's verification
    boolean cancelled;

    private TreeRun(long id, RunKind kind, int base, int[] tokens, int[] parents, int[] depths, int[][] proposalIds,
                    float[][] proposalProbs, long[] branchMasks, int[] seqIds, int[] mainPath, boolean certainRoot) {
        this.id = id;
        this.kind = kind;
        this.base = base;
        this.tokens = tokens;
        this.parents = parents;
        this.depths = depths;
        this.proposalIds = proposalIds;
        this.proposalProbs = proposalProbs;
        this.branchMasks = branchMasks;
        this.seqIds = seqIds;
        this.mainPath = mainPath;
        this.certainRoot = certainRoot;
        this.sequenceSets = new long[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            long set = 0;
            for (int b = 0; b < seqIds.length; b++) if ((branchMasks[i] & (1L << b)) != 0) set |= 1L << seqIds[b];
            if (certainRoot && i == 0) set |= 1L;
            sequenceSets[i] = set;
        }
        if (certainRoot) acceptedRoot = 0;
    }

    /** A known token at {@code position} with the draft's tree (possibly empty) below it. */
    static TreeRun rootedAt(long id, int token, int position, DraftTree tree, int[] seqIds) {
        int n = tree.size() + 1;
        int[] tokens = new int[n], parents = new int[n], depths = new int[n];
        int[][] pIds = new int[n][];
        float[][] pProbs = new float[n][];
        long[] masks = new long[n];
        tokens[0] = token;
        parents[0] = -1;
        masks[0] = (1L << seqIds.length) - 1;
        for (int i = 0; i < tree.size(); i++) {
            tokens[i + 1] = tree.tokens()[i];
            parents[i + 1] = tree.parents()[i] + 1; // -1 (the context's end) becomes the root, node 0
            depths[i + 1] = tree.depths()[i] + 1;
            pIds[i + 1] = tree.proposalIds()[i];
            pProbs[i + 1] = tree.proposalProbs()[i];
            masks[i + 1] = tree.branchMasks()[i];
        }
        int[] main = new int[tree.mainPath().length + 1];
        for (int i = 0; i < tree.mainPath().length; i++) main[i + 1] = tree.mainPath()[i] + 1;
        return new TreeRun(id, tree.isEmpty() ? RunKind.STEP : RunKind.SPECULATIVE, position, tokens, parents, depths,
                pIds, pProbs, masks, seqIds, main, true);
    }

    /** A purely speculative run continuing the frontier: the draft's tree, its roots at {@code base}. */
    static TreeRun chained(long id, int base, DraftTree tree, int[] seqIds) {
        return new TreeRun(id, RunKind.SPECULATIVE, base, tree.tokens(), tree.parents(), tree.depths(),
                tree.proposalIds(), tree.proposalProbs(), tree.branchMasks(), seqIds, tree.mainPath(), false);
    }

    int size() {
        return tokens.length;
    }

    int position(int node) {
        return base + depths[node];
    }

    /**
     * The previous run's verification accepted {@code root}, a side root, instead of the main one: this run
     * computed it too, so it stays valid, and from now on the runs after it assume {@code root}'s branch.
     */
    void followBranchOf(int root) {
        if (depths[root] != 0) throw new IllegalArgumentException("node " + root + " is not a root");
        mainPath = DraftTree.nodesOfBranch(branchMasks, Long.lowestOneBit(branchMasks[root]));
    }

    int mainEnd() {
        return mainPath[mainPath.length - 1];
    }

    /** Drafted (not yet known) tokens in this run. */
    int draftedCount() {
        return certainRoot ? tokens.length - 1 : tokens.length;
    }

    /** A pool id whose cells hold node's whole path within this run, or -1 when the node is in sequence 0 only. */
    int sequenceOf(int node) {
        if (seqIds.length == 0) return -1;
        return seqIds[Long.numberOfTrailingZeros(branchMasks[node])];
    }

    /**
     * The id of the main branch, whose cells later chained runs see: the branch of the main path's leaf
     * (not always branch 0: below an accepted side root the main path follows that root's branch).
     */
    int mainSequence() {
        return sequenceOf(mainEnd());
    }
}
