package dev.pipeinfer.transformer.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class SamplerTest {

    private static final float[] LOGITS = {1f, 3f, 2f, 3f, -1f, 0.5f};

    private static int[] counts(SamplingParams params, float[] logits, int draws) {
        Sampler s = new Sampler(params, logits.length);
        int[] counts = new int[logits.length];
        for (int i = 0; i < draws; i++) counts[s.sample(logits, 0)]++;
        return counts;
    }

    @Test
    void greedyIsTheArgmaxAndTheLowestIdWinsATie() {
        Sampler s = new Sampler(SamplingParams.greedy(), LOGITS.length);
        assertEquals(1, s.sample(LOGITS, 0));
        assertEquals(0, Sampler.argmax(new float[]{2f, 2f, 2f}, 0, 3));
        float[] padded = {9f, 0f, 4f, 5f};
        assertEquals(1, Sampler.argmax(padded, 2, 2), "argmax is relative to the offset");
    }

    @Test
    void topKOneIsGreedyWhateverTheTemperature() {
        int[] c = counts(SamplingParams.defaults(7).withTopK(1).withMinP(0f).withTopP(1f).withTemperature(5f), LOGITS, 200);
        assertEquals(200, c[1]);
    }

    @Test
    void topKKeepsOnlyTheKBest() {
        int[] c = counts(SamplingParams.defaults(1).withTopK(3).withMinP(0f).withTopP(1f).withTemperature(1f), LOGITS, 3000);
        assertEquals(0, c[0] + c[4] + c[5], Arrays.toString(c));
        assertTrue(c[1] > 0 && c[2] > 0 && c[3] > 0, Arrays.toString(c));
    }

    @Test
    void topKSelectionPicksTheSameTokensAsAFullSortTiesByLowestId() {
        int vocab = 5000;
        float[] logits = new float[vocab];
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        for (int i = 0; i < vocab; i++) logits[i] = (float) Math.floor(r.nextGaussian() * 8) / 4; // many ties
        int[] all = new int[vocab], top = new int[vocab];
        float[] probs = new float[vocab];
        SamplingParams plain = new SamplingParams(1f, 0, 1f, 0f, 1f, 0, 0f, 0f, 0);
        assertEquals(vocab, new Sampler(plain, vocab).distribution(logits, 0, all, probs));
        for (int k : new int[]{1, 2, 40, 999}) {
            assertEquals(k, new Sampler(plain.withTopK(k), vocab).distribution(logits, 0, top, probs));
            assertArrayEquals(Arrays.copyOf(all, k), Arrays.copyOf(top, k), "k = " + k);
        }
        for (int i = 1; i < vocab; i++) {
            assertTrue(logits[all[i - 1]] > logits[all[i]] || (logits[all[i - 1]] == logits[all[i]] && all[i - 1] < all[i]));
        }
    }

    @Test
    void samplingAtTemperatureOneFollowsTheSoftmax() {
        int draws = 40000;
        int[] c = counts(new SamplingParams(1f, 0, 1f, 0f, 1f, 0, 0f, 0f, 42), LOGITS, draws);
        double z = 0;
        for (float l : LOGITS) z += Math.exp(l);
        for (int i = 0; i < LOGITS.length; i++) {
            double p = Math.exp(LOGITS[i]) / z;
            double sd = Math.sqrt(p * (1 - p) / draws);
            assertEquals(p, c[i] / (double) draws, 5 * sd + 1e-9, "token " + i + " " + Arrays.toString(c));
        }
    }

    @Test
    void lowTemperatureSharpensAndHighTemperatureFlattens() {
        SamplingParams base = new SamplingParams(1f, 0, 1f, 0f, 1f, 0, 0f, 0f, 3);
        int[] cold = counts(base.withTemperature(0.1f), LOGITS, 4000);
        int[] hot = counts(base.withTemperature(10f), LOGITS, 4000);
        assertTrue(cold[1] + cold[3] > 3990, Arrays.toString(cold));
        assertTrue(hot[4] > 400, "at T=10 even the worst token is common: " + Arrays.toString(hot));
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        // probabilities 0.5, 0.3, 0.15, 0.05
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};
        int[] ids = new int[4];
        float[] probs = new float[4];
        Sampler s = new Sampler(new SamplingParams(1f, 0, 0.75f, 0f, 1f, 0, 0f, 0f, 0), 4);
        assertEquals(2, s.distribution(logits, 0, ids, probs), "0.5 + 0.3 reaches 0.75");
        assertArrayEquals(new int[]{0, 1}, Arrays.copyOf(ids, 2));
        assertEquals(0.625f, probs[0], 1e-6f);
        s = new Sampler(new SamplingParams(1f, 0, 0.85f, 0f, 1f, 0, 0f, 0f, 0), 4);
        assertEquals(3, s.distribution(logits, 0, ids, probs));
    }

    @Test
    void minPDropsTokensBelowAFractionOfTheBest() {
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};
        int[] ids = new int[4];
        float[] probs = new float[4];
        Sampler s = new Sampler(new SamplingParams(1f, 0, 1f, 0.2f, 1f, 0, 0f, 0f, 0), 4);
        assertEquals(3, s.distribution(logits, 0, ids, probs), "0.05 < 0.2 * 0.5");
        assertArrayEquals(new int[]{0, 1, 2}, Arrays.copyOf(ids, 3));
        assertEquals(0.5f / 0.95f, probs[0], 1e-6f);
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogits() {
        float[] logits = {4f, -2f, 3f};
        Sampler s = new Sampler(SamplingParams.greedy().withRepeatPenalty(2f, 8), 3);
        assertEquals(0, s.sample(logits, 0));
        s.accept(0);
        assertEquals(2, s.sample(logits, 0), "4/2 = 2 < 3");
        int[] ids = new int[3];
        float[] probs = new float[3];
        s = new Sampler(new SamplingParams(1f, 0, 1f, 0f, 2f, 8, 0f, 0f, 0), 3);
        s.accept(1);
        s.accept(1);
        s.accept(0);
        assertEquals(3, s.distribution(logits, 0, ids, probs));
        // penalized logits: 2, -4, 3 -> order 2, 0, 1
        assertArrayEquals(new int[]{2, 0, 1}, ids);
        double z = Math.exp(2) + Math.exp(-4) + Math.exp(3);
        assertEquals(Math.exp(-4) / z, probs[2], 1e-6);
    }

    @Test
    void thePenaltyOnlySeesTheLastNTokens() {
        float[] logits = {4f, 3f};
        Sampler s = new Sampler(SamplingParams.greedy().withRepeatPenalty(2f, 2), 2);
        s.accept(0);
        s.accept(1);
        s.accept(1); // token 0 has left the window of 2
        assertEquals(0, s.sample(logits, 0));
    }

    @Test
    void theSameSeedGivesTheSameTokensAndAnotherSeedDiffers() {
        float[] logits = new float[64];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) Math.sin(i * 0.7);
        SamplingParams p = new SamplingParams(1.5f, 0, 1f, 0f, 1f, 0, 0f, 0f, 1234);
        int[] a = new int[100], b = new int[100], c = new int[100];
        Sampler sa = new Sampler(p, 64), sb = new Sampler(p, 64), sc = new Sampler(p.withSeed(99), 64);
        for (int i = 0; i < 100; i++) {
            a[i] = sa.sample(logits, 0);
            b[i] = sb.sample(logits, 0);
            c[i] = sc.sample(logits, 0);
        }
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, c));
    }

    @Test
    void badParametersAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.greedy().withTopP(0f));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.greedy().withMinP(1.5f));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.greedy().withRepeatPenalty(0f, 4));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(SamplingParams.greedy(), 4).accept(4));
    }
}
