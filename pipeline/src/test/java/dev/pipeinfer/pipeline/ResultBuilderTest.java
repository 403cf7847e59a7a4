package dev.pipeinfer.pipeline;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ResultBuilderTest {
    static RunHeader header(ResultForm form) {
        return new RunHeader(7, RunKind.SPECULATIVE, new int[]{4, 5, 6}, new long[]{1, 1, 1}, new int[]{0, 2}, form);
    }

    @Test
    void argmaxTakesTheLowestIdAmongEqualMaxima() {
        ResultBuilder b = new ResultBuilder(header(ResultForm.ARGMAX));
        b.accept(0, new float[]{9, 1, 3, 3, 0}, 1, 4);     // row {1,3,3,0}: max 3 at ids 1 and 2
        b.accept(1, new float[]{-5, -1, -2, -1}, 0, 4);
        Result r = b.build();
        assertArrayEquals(new int[]{1, 1}, r.argmax());
        assertArrayEquals(new int[]{0, 2}, r.rows());
    }

    @Test
    void topKIsOrderedBestFirstWithSoftmaxProbabilities() {
        ResultBuilder b = new ResultBuilder(header(ResultForm.topK(3)));
        float[] row = {0f, (float) Math.log(2), (float) Math.log(4), 0f, (float) Math.log(1)};
        // softmax of log(1, 2, 4, 1, 1) = (1, 2, 4, 1, 1) / 9
        b.accept(0, row, 0, 5);
        b.accept(1, new float[]{1, 1, 1, 1, 1}, 0, 5);
        Result r = b.build();
        assertArrayEquals(new int[]{2, 1, 0, 0, 1, 2}, r.topIds(), "ties keep the lower id first");
        assertEquals(4 / 9f, r.topProbs()[0], 1e-6);
        assertEquals(2 / 9f, r.topProbs()[1], 1e-6);
        assertEquals(1 / 9f, r.topProbs()[2], 1e-6);
        assertEquals(0.2f, r.topProbs()[3], 1e-6);
    }

    @Test
    void logitsFormKeepsWholeRows() {
        ResultBuilder b = new ResultBuilder(header(ResultForm.LOGITS));
        b.accept(1, new float[]{1, 2, 3}, 0, 3);
        b.accept(0, new float[]{4, 5, 6}, 0, 3);
        Result r = b.build();
        assertArrayEquals(new float[]{4, 5, 6, 1, 2, 3}, r.logits());
        assertEquals(3, r.vocabSize());
    }

    @Test
    void aMissingRowIsAnError() {
        ResultBuilder b = new ResultBuilder(header(ResultForm.ARGMAX));
        b.accept(0, new float[]{1, 2}, 0, 2);
        assertThrows(IllegalStateException.class, b::build);
    }
}
