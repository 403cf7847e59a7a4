package dev.pipeinfer.transformer;

import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.transformer.kv.KvCache;
import dev.pipeinfer.transformer.kv.KvType;
import dev.pipeinfer.transformer.kv.SequenceSet;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The narrow-head attention path (heads under one vector, several cells per step) gives exactly the bits
 * of the grouped path (a cell at a time, a K/V head's query heads together), for F16 and F32 caches,
 * grouped and plain heads, cell counts that are and are not whole vectors, tokens of two sequences in one
 * batch, and one or two threads. Heads wider than this machine's vector (12 and 16 on a 256-bit AVX2 core)
 * have no narrow path, so they are left out there.
 */
class AttentionTest {
    private static ComputePool one, two;

    @BeforeAll
    static void pools() {
        one = new ComputePool(1);
        two = new ComputePool(2);
    }

    @AfterAll
    static void close() {
        one.close();
        two.close();
    }

    static Stream<Arguments> shapes() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (KvType type : KvType.values()) {
            for (int headDim : new int[]{1, 4, 8, 12, 16}) {
                if (headDim > FloatVector.SPECIES_PREFERRED.length()) continue;
                for (int[] heads : new int[][]{{8, 4}, {6, 6}, {4, 1}}) {
                    for (int cached : new int[]{0, 5, 16, 37, 70}) {
                        b.add(Arguments.of(type, headDim, heads[0], heads[1], cached));
                    }
                }
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} head {1}, {2} heads over {3} kv heads, {4} cached cells")
    @MethodSource("shapes")
    void narrowPathHasTheBitsOfTheGroupedPath(KvType type, int headDim, int heads, int kvHeads, int cached) {
        int kvDim = kvHeads * headDim;
        Random random = new Random(31L * headDim + cached + heads);
        KvCache kv = new KvCache(128, 2, kvHeads, headDim, type);

        // `cached` earlier tokens: even positions in sequence 0, odd ones in both sequences
        int[] positions = new int[cached];
        long[] seqs = new long[cached];
        for (int i = 0; i < cached; i++) {
            positions[i] = i;
            seqs[i] = i % 2 == 0 ? SequenceSet.of(0) : SequenceSet.of(0, 1);
        }
        int[] cells = new int[cached + 3];
        if (cached > 0) kv.allocate(cached, positions, seqs, cells);
        // the batch: two tokens of sequence 0 and one of sequence 1
        int[] batchPositions = {cached, cached + 1, cached};
        long[] batchSeqs = {SequenceSet.of(0), SequenceSet.of(0), SequenceSet.of(1)};
        int[] batchCells = new int[3];
        kv.allocate(3, batchPositions, batchSeqs, batchCells);
        Batch batch = Batch.ofTokens(new int[3], batchPositions, batchSeqs, new boolean[3]);
        for (int layer = 0; layer < 2; layer++) {
            for (int c = 0; c < cached + 3; c++) {
                float[] k = gaussian(random, kvDim), v = gaussian(random, kvDim);
                kv.write(layer, c, k, 0, v, 0);
            }
        }
        float[] q = gaussian(random, 3 * heads * headDim);

        for (ComputePool pool : new ComputePool[]{one, two}) {
            for (int layer = 0; layer < 2; layer++) {
                float[] wide = attend(new Attention(heads, kvHeads, headDim, false), kv, batch, layer, q, pool);
                float[] narrow = attend(new Attention(heads, kvHeads, headDim, true), kv, batch, layer, q, pool);
                for (int i = 0; i < wide.length; i++) {
                    assertEquals(Float.floatToRawIntBits(wide[i]), Float.floatToRawIntBits(narrow[i]),
                            "value " + i + " of layer " + layer + ": " + wide[i] + " vs " + narrow[i]);
                }
            }
        }
    }

    static Stream<Arguments> groups() {
        return Stream.of(
                Arguments.of(71, 1, 64, 1, 40), // Falcon-7B: one K/V head for 71 query heads
                Arguments.of(32, 4, 64, 1, 200), // TinyLlama on more threads than K/V heads
                Arguments.of(8, 2, 16, 1, 9),
                Arguments.of(6, 1, 8, 2, 33), // groups under four heads, two tokens
                Arguments.of(12, 3, 16, 1, 0)); // the token's own cell only
    }

    /**
     * When a batch has fewer (token, K/V head) pairs than the pool has threads, the grouped path splits each
     * group's query heads over the threads; every head keeps the bits one thread gives it.
     */
    @ParameterizedTest(name = "{0} heads over {1} kv heads, head {2}, {3} tokens, {4} cached cells")
    @MethodSource("groups")
    void splittingAGroupsHeadsOverThreadsKeepsEveryHeadsBits(int heads, int kvHeads, int headDim, int tokens, int cached) {
        int kvDim = kvHeads * headDim;
        Random random = new Random(heads * 1000L + cached);
        KvCache kv = new KvCache(256, 1, kvHeads, headDim, KvType.F16);
        int[] positions = new int[cached + tokens];
        long[] seqs = new long[cached + tokens];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i;
            seqs[i] = SequenceSet.of(0);
        }
        int[] cells = new int[positions.length];
        kv.allocate(positions.length, positions, seqs, cells);
        for (int c = 0; c < positions.length; c++) kv.write(0, c, gaussian(random, kvDim), 0, gaussian(random, kvDim), 0);
        Batch batch = Batch.ofTokens(new int[tokens], java.util.Arrays.copyOfRange(positions, cached, cached + tokens),
                java.util.Arrays.copyOfRange(seqs, cached, cached + tokens), new boolean[tokens]);
        float[] q = gaussian(random, tokens * heads * headDim);

        float[] alone = attend(new Attention(heads, kvHeads, headDim, false), kv, batch, 0, q, one);
        for (int threads = 2; threads <= 5; threads++) {
            try (ComputePool pool = new ComputePool(threads)) {
                Attention split = new Attention(heads, kvHeads, headDim, false);
                float[] out = attend(split, kv, batch, 0, q, pool);
                if (threads > tokens * kvHeads) assertTrue(split.headParts(threads) > 1, "split on " + threads + " threads");
                for (int i = 0; i < out.length; i++) {
                    assertEquals(Float.floatToRawIntBits(alone[i]), Float.floatToRawIntBits(out[i]),
                            "value " + i + " (head " + i / headDim + ") on " + threads + " threads: " + alone[i] + " vs " + out[i]);
                }
            }
        }
    }

    private static float[] attend(Attention attention, KvCache kv, Batch batch, int layer, float[] q,
                                  ComputePool pool) {
        attention.plan(kv, batch);
        float[][] scores = new float[pool.threads()][Math.max(1, attention.scoreSpace())];
        float[][] rows = new float[pool.threads()][Attention.rowScratchSize(64)];
        float[] out = new float[q.length];
        attention.attend(kv, layer, q, out, pool, scores, rows);
        return out;
    }

    private static float[] gaussian(Random random, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) random.nextGaussian();
        return x;
    }
}
