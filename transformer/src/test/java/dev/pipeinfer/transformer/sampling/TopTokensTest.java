package dev.pipeinfer.transformer.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class TopTokensTest {
    @Test
    void bestFirstTiesByLowerIdWithFullSoftmaxProbabilities() {
        float[] row = {0f, 2f, 1f, 2f, -1f, 1.5f};
        TopTokens top = TopTokens.of(row, 0, row.length, 3);
        assertArrayEquals(new int[]{1, 3, 5}, top.ids());
        assertArrayEquals(new float[]{2f, 2f, 1.5f}, top.logits());
        double z = 0;
        for (float l : row) z += Math.exp(l);
        assertEquals(Math.exp(2) / z, top.probs()[0], 1e-6);
        assertEquals(Math.exp(1.5) / z, top.probs()[2], 1e-6);
        assertEquals(1, top.argmax());
    }

    @Test
    void agreesWithGreedyAndWithAFullSortOnALargeRow() {
        int vocab = 32000;
        float[] row = new float[vocab + 7];
        java.util.SplittableRandom r = new java.util.SplittableRandom(11);
        for (int i = 0; i < row.length; i++) row[i] = (float) Math.floor(r.nextGaussian() * 16) / 8;
        TopTokens top = TopTokens.of(row, 7, vocab, 10);
        assertEquals(Sampler.argmax(row, 7, vocab), top.argmax());
        Integer[] all = new Integer[vocab];
        for (int i = 0; i < vocab; i++) all[i] = i;
        Arrays.sort(all, (a, b) -> row[7 + a] != row[7 + b] ? Float.compare(row[7 + b], row[7 + a]) : Integer.compare(a, b));
        for (int i = 0; i < 10; i++) assertEquals(all[i].intValue(), top.ids()[i], "rank " + i);
    }
}
