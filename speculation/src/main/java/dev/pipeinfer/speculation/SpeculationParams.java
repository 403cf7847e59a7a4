package dev.pipeinfer.speculation;

/**
 * How far and how wide the draft model speculates (DESIGN §7), with the reference implementation's option
 * names in brackets.
 *
 * @param draftMax        drafted tokens per speculative run at most [--draft]
 * @param branches        branches of one run's draft tree at most [-np]
 * @param pAccept         a branch stops when the draft's top-1 probability falls under the cutoff, which is
 *                        this plus the adaptive recovery term [-pa]
 * @param pSplit          a branch splits when the draft's runner-up exceeds this [-ps]
 * @param pRecovery       added to the cutoff after each rejected speculation [-pr]
 * @param pDecay          fraction of the recovery term that fades after each fully accepted run [-pd]
 * @param maxRunsInFlight pipeinfer only: speculative runs in flight at most, besides the guaranteed one
 * @param draftFirstRun   pipeinfer only: the guaranteed run that follows a rejection carries a draft tree
 *                        below its token (as a speculative-decoding run does) instead of going out alone,
 *                        the chained runs following as usual. Off by default, as in the paper: the run starts
 *                        the pipeline at once and the first chained run follows one draft later. (Measured on
 *                        stories260K over two shaped stages, five paired runs of --repeat 5: median 1381
 *                        tokens/s alone against 1362 with a tree; before stale drafts were abandoned and the
 *                        link emulation fixed, the tree had helped, 783 against 730.)
 */
public record SpeculationParams(int draftMax, int branches, float pAccept, float pSplit, float pRecovery, float pDecay,
                                int maxRunsInFlight, boolean draftFirstRun) {

    public SpeculationParams {
        if (draftMax < 1 || draftMax > 32) throw new IllegalArgumentException("--draft-max must be in [1, 32], got " + draftMax);
        if (branches < 1 || branches > 8) throw new IllegalArgumentException("--branches must be in [1, 8], got " + branches);
        if (branches > draftMax) throw new IllegalArgumentException("--branches " + branches + " exceeds --draft-max " + draftMax);
        checkProbability("--p-accept", pAccept);
        checkProbability("--p-split", pSplit);
        checkProbability("--p-recovery", pRecovery);
        checkProbability("--p-decay", pDecay);
        if (maxRunsInFlight < 1 || maxRunsInFlight > 16) {
            throw new IllegalArgumentException("runs in flight must be in [1, 16], got " + maxRunsInFlight);
        }
    }

    /**
     * Narrow, deep trees of a few tokens, as the reference implementation found best; on the stories260K
     * pair over two shaped local stages, 3 tokens in one branch with a low cutoff measured best. No recovery
     * term by default: raising the cutoff after each rejection stopped pipeinfer's chains where the draft
     * was still right (six paired runs of bench-modes --repeat 15, 1 ms links: pipeinfer median 1613 tokens/s
     * with --p-recovery 0.1 against 1695 without, speculative 1149 against 1164; with the Q8_0 draft
     * pipeinfer 2692 against 2844, speculative unchanged).
     */
    public static SpeculationParams defaults() {
        return new SpeculationParams(3, 1, 0.2f, 0.3f, 0f, 0.5f, 6, false);
    }

    public SpeculationParams withDraftMax(int n) {
        return new SpeculationParams(n, Math.min(branches, n), pAccept, pSplit, pRecovery, pDecay, maxRunsInFlight, draftFirstRun);
    }

    public SpeculationParams withBranches(int b) {
        return new SpeculationParams(draftMax, b, pAccept, pSplit, pRecovery, pDecay, maxRunsInFlight, draftFirstRun);
    }

    public SpeculationParams withMaxRunsInFlight(int n) {
        return new SpeculationParams(draftMax, branches, pAccept, pSplit, pRecovery, pDecay, n, draftFirstRun);
    }

    public SpeculationParams withDraftFirstRun(boolean draftFirst) {
        return new SpeculationParams(draftMax, branches, pAccept, pSplit, pRecovery, pDecay, maxRunsInFlight, draftFirst);
    }

    public SpeculationParams withCutoffs(float accept, float split, float recovery, float decay) {
        return new SpeculationParams(draftMax, branches, accept, split, recovery, decay, maxRunsInFlight, draftFirstRun);
    }

    private static void checkProbability(String name, float p) {
        if (!(p >= 0f && p <= 1f)) throw new IllegalArgumentException(name + " must be in [0, 1], got " + p);
    }
}
