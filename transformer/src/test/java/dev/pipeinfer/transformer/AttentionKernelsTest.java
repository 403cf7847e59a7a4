package dev.pipeinfer.transformer;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The blocked attention kernels give, element by element, the bits of the one-row kernels they block, for head
 * widths under, at and over a vector and with tails; the one-row kernels round as they say.
 */
class AttentionKernelsTest {
    private static final int SPILL = AttentionKernels.SPILL;

    @Test
    void theBlockedKernelsGiveTheBitsOfTheOneRowKernelsForEveryHeadWidth() {
        Random random = new Random(5);
        for (int len : new int[] {4, 8, 24, 64, 80, 100, 128, 136}) {
            int cells = 37;
            float[] rows = new float[cells * len], weights = new float[cells];
            for (int i = 0; i < rows.length; i++) rows[i] = (float) random.nextGaussian();
            for (int c = 0; c < cells; c++) weights[c] = random.nextFloat();
            float[] blocked = new float[len + 3], oneByOne = new float[len + 3];
            for (int i = 0; i < blocked.length; i++) blocked[i] = oneByOne[i] = (float) random.nextGaussian();
            AttentionKernels.addWeightedRows(weights, 0, cells, rows, 0, len, blocked, 3);
            for (int c = 0; c < cells; c++) AttentionKernels.addWeightedRow(weights[c], oneByOne, 3, len, rows, c * len);
            assertArrayEquals(oneByOne, blocked, "weighted rows, len " + len);

            float[] staged = new float[SPILL + 2 + len];
            for (int i = 0; i < len; i++) staged[SPILL + 2 + i] = (float) random.nextGaussian();
            int rowAt = SPILL + 2;
            float[] q = new float[8 * len + 1], scores = new float[24];
            for (int i = 0; i < q.length; i++) q[i] = (float) random.nextGaussian();
            AttentionKernels.fourDots(q, 1, 1 + len, 1 + 2 * len, 1 + 3 * len, len, staged, rowAt, 0.125f, scores, 0, 2, 4, 6);
            for (int h = 0; h < 4; h++) {
                assertEquals(Float.floatToRawIntBits(AttentionKernels.dot(q, 1 + h * len, len, staged, rowAt) * 0.125f),
                        Float.floatToRawIntBits(scores[2 * h]), "dot " + h + " of four, len " + len);
            }
            AttentionKernels.eightDots(q, 1, len, staged, rowAt, 0.125f, scores, 2, 3);
            for (int h = 0; h < 8; h++) {
                assertEquals(Float.floatToRawIntBits(AttentionKernels.dot(q, 1 + h * len, len, staged, rowAt) * 0.125f),
                        Float.floatToRawIntBits(scores[2 + 3 * h]), "dot " + h + " of eight, len " + len);
            }
        }
    }

    @Test
    void aDotIsCloseToTheExactOneAndAWeightedRowRoundsTheProductThenTheSum() {
        int len = 40; // whole vectors plus a tail for every lane count up to 16
        float[] q = new float[len], row = new float[SPILL + len], out = new float[len], expected = new float[len];
        double exact = 0;
        for (int i = 0; i < len; i++) {
            q[i] = (float) Math.sin(0.11 * i + 1.1);
            row[SPILL + i] = (float) Math.sin(0.37 * i + 0.5) * 3.1f;
            exact += (double) q[i] * row[SPILL + i];
            out[i] = 0.25f * i;
            expected[i] = 0.25f * i + 0.3f * row[SPILL + i];
        }
        float dot = AttentionKernels.dot(q, 0, len, row, SPILL);
        assertEquals(exact, dot, 1e-5);
        assertEquals(dot, AttentionKernels.dot(q, 0, len, row.clone(), SPILL), 0f, "same bits every call");
        AttentionKernels.addWeightedRow(0.3f, out, 0, len, row, SPILL);
        assertArrayEquals(expected, out, "one multiply and one add per element");
    }
}
