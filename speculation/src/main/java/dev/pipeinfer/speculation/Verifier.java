package dev.pipeinfer.speculation;

import java.util.SplittableRandom;

/**
 * Lossless verification of drafted children at one node of the text (Leviathan et al.; Chen et al.),
 * generalised to several children tried one after another (as SpecInfer does for token trees).
 *
 * <p>The target's distribution p at the node is loaded as the <em>residual</em> r. Child k, token x
 * drawn from proposal q_k (the draft's sampler distribution, or a point mass when the draft chose it
 * deterministically), is accepted with probability min(1, r(x) / q_k(x)); on rejection r becomes
 * max(0, r - q_k), renormalised, and the next child is tried. When no child is accepted the token is
 * drawn from the final r. Whatever the proposals, the token that comes out is distributed exactly as p.
 * With a greedy target p is a point mass on the argmax: a child is accepted iff it is the argmax.
 *
 * <p>Not thread-safe; buffers are sized for the vocabulary once.
 */
final class Verifier {
    private final int vocab;
    private final double[] residual;
    private final double[] saved;
    private final SplittableRandom random;

    Verifier(int vocab, long seed) {
        this.vocab = vocab;
        this.residual = new double[vocab];
        this.saved = new double[vocab];
        this.random = new SplittableRandom(seed);
    }

    /** Loads the target distribution: {@code n} candidates with their probabilities (the rest are 0). */
    void loadTarget(int[] ids, float[] probs, int n) {
        java.util.Arrays.fill(residual, 0);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            residual[ids[i]] += probs[i];
            sum += probs[i];
        }
        for (int i = 0; i < n; i++) residual[ids[i]] = residual[ids[i]] / sum;
    }

    /** Loads a point mass: greedy decoding's "distribution". */
    void loadTarget(int argmax) {
        java.util.Arrays.fill(residual, 0);
        residual[argmax] = 1;
    }

    /**
     * Tries one child: token {@code x} drawn from the proposal ({@code ids/probs}, or null for a point mass on
     * x). Returns true if accepted; otherwise the residual has been updated for the next child.
     */
    boolean tryChild(int x, int[] ids, float[] probs) {
        double q = ids == null ? 1 : probabilityOf(x, ids, probs);
        double r = residual[x];
        boolean accepted;
        if (q <= 0 || r <= 0) accepted = false;
        else if (r >= q) accepted = true;
        else accepted = random.nextDouble() < r / q;
        if (accepted) return true;
        // r := max(0, r - q), renormalised. If nothing is left (r <= q everywhere, only by rounding when
        // both sum to 1), the residual stays as it was.
        if (ids == null) {
            double left = 1 - residual[x];
            if (left <= 1e-12) return false;
            residual[x] = 0;
            for (int v = 0; v < vocab; v++) residual[v] /= left;
            return false;
        }
        System.arraycopy(residual, 0, saved, 0, vocab);
        for (int i = 0; i < ids.length; i++) residual[ids[i]] = Math.max(0, residual[ids[i]] - probs[i]);
        double sum = 0;
        for (int v = 0; v < vocab; v++) sum += residual[v];
        if (sum <= 1e-12) {
            System.arraycopy(saved, 0, residual, 0, vocab);
            return false;
        }
        for (int v = 0; v < vocab; v++) residual[v] /= sum;
        return false;
    }

    /** Draws the token from the residual (after every child was rejected, or when there were none). */
    int drawResidual() {
        int best = 0;
        double cumulative = 0, u = random.nextDouble();
        int last = -1;
        for (int v = 0; v < vocab; v++) {
            if (residual[v] <= 0) continue;
            last = v;
            cumulative += residual[v];
            if (u < cumulative) return v;
            if (residual[v] > residual[best]) best = v;
        }
        return last >= 0 ? last : best; // rounding left u above the total
    }

    /** Probability of the residual at {@code token} (for tests). */
    double residual(int token) {
        return residual[token];
    }

    private static double probabilityOf(int x, int[] ids, float[] probs) {
        for (int i = 0; i < ids.length; i++) if (ids[i] == x) return probs[i];
        return 0;
    }
}
