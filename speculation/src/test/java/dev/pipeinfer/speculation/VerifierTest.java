package dev.pipeinfer.speculation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Rejection sampling on hand-made distributions: whatever the draft proposes, the verified token is
 * distributed as the target. Checked with a chi-square test over many seeded trials (fixed seeds, so the
 * outcome is reproducible), and on the exact cases greedy decoding relies on.
 */
class VerifierTest {
    private static final int VOCAB = 6;
    private static final int[] ALL = {0, 1, 2, 3, 4, 5};
    private static final float[] TARGET = {0.40f, 0.25f, 0.15f, 0.10f, 0.10f, 0f};
    private static final float[] DRAFT = {0.10f, 0.50f, 0.05f, 0.05f, 0.10f, 0.20f}; // misaligned, even proposes a target-impossible token

    @Test
    void oneSampledChildKeepsTheTargetDistribution() {
        SplittableRandom draftRandom = new SplittableRandom(11);
        Verifier v = new Verifier(VOCAB, 7);
        long[] counts = new long[VOCAB];
        int trials = 60_000;
        for (int i = 0; i < trials; i++) {
            int x = draw(DRAFT, draftRandom);
            v.loadTarget(ALL, TARGET, VOCAB);
            counts[v.tryChild(x, ALL, DRAFT) ? x : v.drawResidual()]++;
        }
        assertMatches(TARGET, counts, trials);
    }

    @Test
    void aSampledChildThenAPointMassSiblingKeepTheTargetDistribution() {
        SplittableRandom draftRandom = new SplittableRandom(5);
        Verifier v = new Verifier(VOCAB, 3);
        long[] counts = new long[VOCAB];
        int trials = 60_000;
        for (int i = 0; i < trials; i++) {
            int x = draw(DRAFT, draftRandom);
            int sibling = x == 1 ? 0 : 1; // the draft's runner-up, chosen deterministically
            v.loadTarget(ALL, TARGET, VOCAB);
            int out;
            if (v.tryChild(x, ALL, DRAFT)) out = x;
            else if (v.tryChild(sibling, null, null)) out = sibling;
            else out = v.drawResidual();
            counts[out]++;
        }
        assertMatches(TARGET, counts, trials);
    }

    @Test
    void greedyAcceptsExactlyTheArgmax() {
        Verifier v = new Verifier(VOCAB, 1);
        v.loadTarget(3);
        assertFalse(v.tryChild(2, null, null));
        assertTrue(v.tryChild(3, null, null));
        v.loadTarget(3);
        assertFalse(v.tryChild(1, null, null));
        assertEquals(3, v.drawResidual());
    }

    @Test
    void aRejectedPointMassIsNeverDrawnAgain() {
        Verifier v = new Verifier(VOCAB, 9);
        for (int i = 0; i < 2000; i++) {
            v.loadTarget(ALL, TARGET, VOCAB);
            if (!v.tryChild(0, null, null)) {
                assertEquals(0, v.residual(0));
                int t = v.drawResidual();
                assertTrue(t != 0 && t != 5, "drew " + t);
            }
        }
    }

    static int draw(float[] p, SplittableRandom random) {
        double u = random.nextDouble(), c = 0;
        for (int i = 0; i < p.length; i++) {
            c += p[i];
            if (u < c) return i;
        }
        return p.length - 1;
    }

    /** Pearson chi-square over the tokens the target can produce; fails beyond the 99.99% quantile. */
    static void assertMatches(float[] expected, long[] counts, int trials) {
        double chi2 = 0;
        int df = -1;
        for (int t = 0; t < expected.length; t++) {
            if (expected[t] == 0) {
                assertEquals(0, counts[t], "token " + t + " has target probability 0");
                continue;
            }
            double e = expected[t] * trials;
            chi2 += (counts[t] - e) * (counts[t] - e) / e;
            df++;
        }
        assertTrue(chi2 < ChiSquare.quantile9999(df), "chi-square " + chi2 + " with " + df + " degrees of freedom");
    }
}
