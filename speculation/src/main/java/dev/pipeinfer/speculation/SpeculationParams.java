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
 */
public record SpeculationParams(int draftMax, int branches, float pAccept, float pSplit, float pRecovery, float pDecay,
                                int maxRunsInFlight) {

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

    /** Narrow, deep trees of a few tokens: what the reference implementation found best. */
    public static SpeculationParams defaults() {
        return new SpeculationParams(4, 2, 0.4f, 0.3f, 0.1f, 0.5f, 6);
    }

    public SpeculationParams withDraftMax(int n) {
        return new SpeculationParams(n, Math.min(branches, n), pAccept, pSplit, pRecovery, pDecay, maxRunsInFlight);
    }

    public SpeculationParams withBranches(int b) {
        return new SpeculationParams(draftMax, b, pAccept, pSplit, pRecovery, pDecay, maxRunsInFlight);
    }

    public SpeculationParams withMaxRunsInFlight(int n) {
        return new SpeculationParams(draftMax, branches, pAccept, pSplit, pRecovery, pDecay, n);
    }

    public SpeculationParams withCutoffs(float accept, float split, float recovery, float decay) {
        return new SpeculationParams(draftMax, branches, accept, split, recovery, decay, maxRunsInFlight);
    }

    private static void checkProbability(String name, float p) {
        if (!(p >= 0f && p <= 1f)) throw new IllegalArgumentException(name + " must be in [0, 1], got " + p);
    }
}
