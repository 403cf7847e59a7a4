package dev.pipeinfer.transformer.sampling;

import java.util.Arrays;

/**
 * The k most likely tokens of a logit row with their logits and softmax probabilities (over the whole
 * vocabulary, temperature 1): the compact form of a result that a verifier or a draft's confidence
 * cutoff needs, without shipping the full row. Ties go to the lower id, as in greedy decoding.
 *
 * @param ids    best first
 * @param logits the logits of {@code ids}
 * @param probs  softmax probabilities of {@code ids} over the full row
 */
public record TopTokens(int[] ids, float[] logits, float[] probs) {

    public static TopTokens of(float[] row, int offset, int vocab, int k) {
        if (k <= 0 || k > vocab) throw new IllegalArgumentException("k must be in 1.." + vocab + ", got " + k);
        // A max-heap (by "worse") of the best k seen so far; ties broken towards the lower id.
        int[] heap = new int[k];
        for (int i = 0; i < k; i++) heap[i] = i;
        for (int i = k / 2 - 1; i >= 0; i--) siftDown(heap, i, k, row, offset);
        for (int id = k; id < vocab; id++) {
            if (better(row, offset, id, heap[0])) {
                heap[0] = id;
                siftDown(heap, 0, k, row, offset);
            }
        }
        Integer[] order = new Integer[k];
        for (int i = 0; i < k; i++) order[i] = heap[i];
        Arrays.sort(order, (a, b) -> better(row, offset, a, b) ? -1 : better(row, offset, b, a) ? 1 : 0);

        float max = row[offset + order[0]];
        double sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(row[offset + i] - max);
        int[] ids = new int[k];
        float[] logits = new float[k], probs = new float[k];
        for (int i = 0; i < k; i++) {
            ids[i] = order[i];
            logits[i] = row[offset + ids[i]];
            probs[i] = (float) (Math.exp(logits[i] - max) / sum);
        }
        return new TopTokens(ids, logits, probs);
    }

    /** Does token a rank before token b (higher logit, or equal logit and lower id)? */
    private static boolean better(float[] row, int offset, int a, int b) {
        float x = row[offset + a], y = row[offset + b];
        return x > y || (x == y && a < b);
    }

    private static void siftDown(int[] heap, int i, int size, float[] row, int offset) {
        int id = heap[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) break;
            if (child + 1 < size && better(row, offset, heap[child], heap[child + 1])) child++;
            if (!better(row, offset, id, heap[child])) break;
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = id;
    }

    public int argmax() {
        return ids[0];
    }
}
