package dev.pipeinfer.transformer.sampling;

import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits, following llama.cpp's sampler chain: repetition penalties
 * over the recent tokens, then top-k, top-p, min-p, temperature and a seeded draw (or argmax when the
 * temperature is 0).
 *
 * <p>A sampler remembers the tokens it was told about with {@link #accept} (the prompt and the generated
 * text), which the penalties look at. Buffers are sized for the vocabulary once; sampling allocates
 * nothing. The draw uses {@link SplittableRandom}, whose algorithm is fixed, so a seed reproduces the
 * same tokens on every JVM. Not thread-safe.
 */
public final class Sampler {
    private final SamplingParams params;
    private final int vocab;
    private final SplittableRandom random;

    private final int[] history;     // ring of the last repeatLastN accepted tokens
    private int historyCount;
    private int historyNext;
    private final int[] occurrences; // per token id, filled and cleared around each penalty pass

    private final float[] work;      // the logits being transformed
    private final long[] order;      // candidates as sort keys: descending logit, then ascending id
    private final int[] candidateIds;
    private final float[] candidateProbs;

    public Sampler(SamplingParams params, int vocabSize) {
        if (vocabSize <= 0) throw new IllegalArgumentException("vocabulary size must be positive, got " + vocabSize);
        this.params = params;
        this.vocab = vocabSize;
        this.random = new SplittableRandom(params.seed());
        this.history = new int[params.repeatLastN()];
        this.occurrences = new int[vocabSize];
        this.work = new float[vocabSize];
        this.order = new long[vocabSize];
        this.candidateIds = new int[vocabSize];
        this.candidateProbs = new float[vocabSize];
    }

    public SamplingParams params() {
        return params;
    }

    /** Records a token of the context (prompt or output) for the repetition penalties. */
    public void accept(int token) {
        if (token < 0 || token >= vocab) throw new IllegalArgumentException("token " + token + " outside vocabulary of " + vocab);
        if (history.length == 0) return;
        history[historyNext] = token;
        historyNext = (historyNext + 1) % history.length;
        historyCount = Math.min(historyCount + 1, history.length);
    }

    /** Forgets the accepted tokens (the random stream continues). */
    public void resetHistory() {
        historyCount = 0;
        historyNext = 0;
    }

    /** Samples a token from {@code logits[offset .. offset+vocab)}. Does not {@link #accept} it. */
    public int sample(float[] logits, int offset) {
        loadAndPenalize(logits, offset);
        if (params.isGreedy()) return argmax(work, 0, vocab);
        int n = filter();
        return draw(n);
    }

    /**
     * The distribution the sampler would draw from: writes the surviving candidates (most likely first)
     * and their probabilities, and returns how many there are. For greedy parameters this is the argmax
     * with probability 1. Uses no randomness; speculative verification builds on it.
     */
    public int distribution(float[] logits, int offset, int[] idsOut, float[] probsOut) {
        loadAndPenalize(logits, offset);
        if (params.isGreedy()) {
            idsOut[0] = argmax(work, 0, vocab);
            probsOut[0] = 1f;
            return 1;
        }
        int n = filter();
        System.arraycopy(candidateIds, 0, idsOut, 0, n);
        System.arraycopy(candidateProbs, 0, probsOut, 0, n);
        return n;
    }

    /** Index of the largest value in {@code x[offset .. offset+n)}; the lowest index wins a tie. */
    public static int argmax(float[] x, int offset, int n) {
        int best = 0;
        float bestValue = x[offset];
        for (int i = 1; i < n; i++) {
            if (x[offset + i] > bestValue) {
                bestValue = x[offset + i];
                best = i;
            }
        }
        return best;
    }

    // ---- the chain ----------------------------------------------------------------------------------------

    private void loadAndPenalize(float[] logits, int offset) {
        if (logits.length - offset < vocab) {
            throw new IllegalArgumentException("logits row at " + offset + " is shorter than the vocabulary " + vocab);
        }
        System.arraycopy(logits, offset, work, 0, vocab);
        boolean penalize = params.repeatPenalty() != 1f || params.frequencyPenalty() != 0f || params.presencePenalty() != 0f;
        if (!penalize || historyCount == 0) return;
        for (int i = 0; i < historyCount; i++) occurrences[history[i]]++;
        for (int i = 0; i < historyCount; i++) {
            int token = history[i];
            int count = occurrences[token];
            if (count == 0) continue; // already penalized (repeated in the window)
            occurrences[token] = 0;
            float logit = work[token];
            // llama.cpp: shrink the token's logit towards "less likely" whatever its sign.
            logit = logit <= 0f ? logit * params.repeatPenalty() : logit / params.repeatPenalty();
            logit -= count * params.frequencyPenalty() + params.presencePenalty();
            work[token] = logit;
        }
    }

    /** Applies top-k, top-p, min-p and temperature; leaves the candidates and their probabilities. */
    private int filter() {
        int n = params.topK() > 0 && params.topK() < vocab ? selectTopK(params.topK()) : sortAll();
        for (int i = 0; i < n; i++) candidateIds[i] = (int) order[i];

        if (params.topP() < 1f) {
            softmax(n, 1f);
            double cumulative = 0;
            int keep = n;
            for (int i = 0; i < n; i++) {
                cumulative += candidateProbs[i];
                if (cumulative >= params.topP()) {
                    keep = i + 1;
                    break;
                }
            }
            n = keep;
        }

        if (params.minP() > 0f) {
            // p_i >= minP * p_max  <=>  logit_i >= logit_max + ln(minP)
            float threshold = work[candidateIds[0]] + (float) Math.log(params.minP());
            int keep = 1;
            while (keep < n && work[candidateIds[keep]] >= threshold) keep++;
            n = keep;
        }

        softmax(n, params.temperature());
        return n;
    }

    /** Every token as a candidate, best first. */
    private int sortAll() {
        for (int i = 0; i < vocab; i++) order[i] = sortKey(work[i], i);
        java.util.Arrays.sort(order, 0, vocab);
        return vocab;
    }

    /**
     * The k best tokens, best first, without sorting the whole vocabulary: a max-heap (by sort key) of the
     * k smallest keys seen so far, then a sort of those k. Same result as {@link #sortAll} cut at k.
     */
    private int selectTopK(int k) {
        for (int i = 0; i < k; i++) order[i] = sortKey(work[i], i);
        for (int i = k / 2 - 1; i >= 0; i--) siftDown(i, k);
        for (int i = k; i < vocab; i++) {
            long key = sortKey(work[i], i);
            if (key < order[0]) {
                order[0] = key;
                siftDown(0, k);
            }
        }
        java.util.Arrays.sort(order, 0, k);
        return k;
    }

    private void siftDown(int i, int size) {
        long key = order[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) break;
            if (child + 1 < size && order[child + 1] > order[child]) child++;
            if (order[child] <= key) break;
            order[i] = order[child];
            i = child;
        }
        order[i] = key;
    }

    /** Probabilities of the first n candidates at the given temperature (candidates are sorted, so [0] is the max). */
    private void softmax(int n, float temperature) {
        float max = work[candidateIds[0]] / temperature;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float p = (float) Math.exp(work[candidateIds[i]] / temperature - max);
            candidateProbs[i] = p;
            sum += p;
        }
        for (int i = 0; i < n; i++) candidateProbs[i] = (float) (candidateProbs[i] / sum);
    }

    private int draw(int n) {
        double u = random.nextDouble();
        double cumulative = 0;
        for (int i = 0; i < n; i++) {
            cumulative += candidateProbs[i];
            if (u < cumulative) return candidateIds[i];
        }
        return candidateIds[n - 1]; // rounding left u above the total
    }

    /**
     * A key whose ascending order is descending logit, then ascending id: the high half is the logit's
     * bits mapped to a monotone int and inverted, the low half the id.
     */
    private static long sortKey(float logit, int id) {
        int bits = Float.floatToIntBits(logit);
        int monotone = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) ~monotone << 32) | (id & 0xffffffffL);
    }
}
