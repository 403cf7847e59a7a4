package dev.pipeinfer.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.speculation.DraftModel;
import dev.pipeinfer.speculation.GenerationRequest;
import dev.pipeinfer.speculation.SpeculationParams;
import dev.pipeinfer.speculation.SpeculativeDecoder;
import dev.pipeinfer.speculation.TokenListener;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.transformer.Batch;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOutput;
import dev.pipeinfer.transformer.sampling.Sampler;
import dev.pipeinfer.transformer.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * With temperature, speculation must not change what the target would say, only how fast: the pairs of
 * first and second generated tokens of the speculative decoder (with the confidence cutoff at 0 the
 * second one always goes through rejection sampling against the Q4_0 draft's proposals: a sampled child
 * and, when the draft's runner-up is likely, a deterministic sibling) follow the target's exact joint distribution,
 * computed here with the engine alone. Pearson chi-square over fixed seeds.
 */
class SpeculativeSamplingTest {
    private static final int[] PROMPT = {1, 403, 407, 261, 378};
    private static final SamplingParams CHAIN = new SamplingParams(1.0f, 4, 1f, 0f, 1f, 0, 0f, 0f, 0);
    private static final int TRIALS = 1200;

    @Timeout(180)
    @Test
    void speculativePairsFollowTheTargetsJointDistribution() throws Exception {
        Path target = TestData.model("stories260K.gguf");
        Map<Long, Double> exact = exactPairs(target);

        StageOptions options = SpeculativeEquivalenceTest.stageOptions(2, "memory");
        Map<Long, Integer> counts = new HashMap<>();
        try (TargetPipeline t = TargetPipeline.open(target, options, s -> { });
             DraftModel draft = DraftModel.open(TestData.model("stories260K-Q4_0.gguf"), t.file(),
                     TargetPipeline.sliceOptions(options.ctx, options.kvType, options.activations), 1)) {
            SpeculativeDecoder decoder = SpeculativeDecoder.speculative(t.head(), draft,
                    SpeculationParams.defaults().withDraftMax(3).withBranches(2).withCutoffs(0f, 0.2f, 0f, 0.5f)); // always speculate
            long drafted = 0;
            for (int seed = 0; seed < TRIALS; seed++) {
                var r = decoder.generate(new GenerationRequest(PROMPT, 2, CHAIN.withSeed(seed), x -> false), TokenListener.NONE);
                counts.merge(pair(r.tokens()[0], r.tokens()[1]), 1, Integer::sum);
                drafted += r.metrics().drafted();
            }
            assertTrue(drafted >= TRIALS, "every second token was drafted and verified (" + drafted + " drafted)");
        }
        double chi2 = 0;
        int df = -1;
        double lumpedExpected = 0;
        int lumpedCount = 0;
        for (var e : exact.entrySet()) {
            double expected = e.getValue() * TRIALS;
            int count = counts.getOrDefault(e.getKey(), 0);
            if (expected < 5) {
                lumpedExpected += expected;
                lumpedCount += count;
                continue;
            }
            chi2 += (count - expected) * (count - expected) / expected;
            df++;
        }
        if (lumpedExpected > 0) {
            chi2 += (lumpedCount - lumpedExpected) * (lumpedCount - lumpedExpected) / lumpedExpected;
            df++;
        }
        for (long k : counts.keySet()) assertTrue(exact.containsKey(k), "pair " + k + " is impossible for the target");
        double limit = 3.719; // the 99.99% normal quantile, Wilson-Hilferty for chi-square
        double a = 2.0 / (9.0 * df);
        double quantile = df * Math.pow(1 - a + limit * Math.sqrt(a), 3);
        assertTrue(chi2 < quantile, "chi-square " + chi2 + " over " + df + " degrees of freedom (limit " + quantile + ")");
    }

    private static long pair(int a, int b) {
        return ((long) a << 32) | b;
    }

    /** P(t1, t2) under the sampler chain, from the whole model on one node. */
    private static Map<Long, Double> exactPairs(Path model) throws Exception {
        Map<Long, Double> joint = new HashMap<>();
        try (GgufFile f = GgufFile.open(model); ComputePool pool = new ComputePool(1)) {
            LayerSlice slice = LayerSlice.loadAll(f, TargetPipeline.sliceOptions(256, "f16", "int8"), pool);
            int vocab = slice.config().vocabSize();
            Sampler sampler = new Sampler(CHAIN, vocab);
            int[] ids1 = new int[vocab], ids2 = new int[vocab];
            float[] p1 = new float[vocab], p2 = new float[vocab];
            SliceOutput out = slice.forward(Batch.sequence(PROMPT, 0, 0, false));
            int n1 = sampler.distribution(out.data(), 0, ids1, p1);
            for (int i = 0; i < n1; i++) {
                slice.kvCache().removeSequence(0, PROMPT.length, -1);
                SliceOutput next = slice.forward(Batch.sequence(new int[] {ids1[i]}, PROMPT.length, 0, false));
                int n2 = sampler.distribution(next.data(), 0, ids2, p2);
                for (int j = 0; j < n2; j++) joint.put(pair(ids1[i], ids2[j]), (double) p1[i] * p2[j]);
            }
        }
        return joint;
    }
}
