package dev.pipeinfer.speculation;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The draft's confidence: its two best tokens and their softmax probabilities, as a plain softmax in double
 * gives them, to 1e-5 relative (the probabilities only meet cutoffs like 0.2).
 */
class DraftConfidenceTest {

    @Test
    void topTwoAndTheirProbabilitiesMatchAPlainSoftmaxForEveryVocabularyLength() {
        SplittableRandom random = new SplittableRandom(11);
        for (int vocab : new int[]{2, 15, 16, 17, 512, 32000, 32003}) {
            float[] logits = new float[vocab];
            for (int v = 0; v < vocab; v++) logits[v] = (float) (random.nextGaussian() * 4);
            int top1 = 0, top2 = vocab > 1 ? 1 : 0;
            if (logits[top2] > logits[top1]) { top1 = 1; top2 = 0; }
            for (int v = 2; v < vocab; v++) {
                if (logits[v] > logits[top1]) { top2 = top1; top1 = v; }
                else if (logits[v] > logits[top2]) top2 = v;
            }
            double sum = 0;
            for (float l : logits) sum += Math.exp(l - logits[top1]);

            DraftModel.Confidence c = DraftModel.confidence(logits, new float[logits.length]);
            assertEquals(top1, c.top1(), "vocabulary " + vocab);
            assertEquals(top2, c.top2(), "vocabulary " + vocab);
            assertEquals(1 / sum, c.p1(), 1e-5 / sum, "vocabulary " + vocab);
            assertEquals(Math.exp(logits[top2] - logits[top1]) / sum, c.p2(), 1e-5 / sum, "vocabulary " + vocab);
        }
    }
}
