package dev.pipeinfer.tensor;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The four-row vector form of the lane sum adds the same pairs as the scalar form (the same bits), and stores
 * only the rows asked for.
 */
class LaneSumsTest {

    @Test
    void fourRowsAtOnceGiveTheBitsOfEachRowAlone() {
        Assumptions.assumeTrue(LaneSums.FOUR_ROWS, "the four-row form needs 16 lanes");
        SplittableRandom random = new SplittableRandom(5);
        float[] acc = new float[64];
        for (int trial = 0; trial < 2000; trial++) {
            // magnitudes from 1e-6 to 1e6 so that a different order of the adds would show in the bits
            for (int i = 0; i < acc.length; i++) acc[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-6, 7)));
            int rows = 1 + trial % 4;
            float[] y = new float[7];
            LaneSums.sumFourRows(acc, 0, y, 2, rows);
            for (int r = 0; r < rows; r++) {
                assertEquals(Float.floatToRawIntBits(LaneSums.of(acc, 16 * r)), Float.floatToRawIntBits(y[2 + r]),
                        "trial " + trial + ", row " + r);
            }
            for (int i = 0; i < y.length; i++) {
                if (i < 2 || i >= 2 + rows) assertEquals(0f, y[i], "stored outside the rows asked for, at " + i);
            }
        }
    }

    @Test
    void theSumsMayOverwriteTheirOwnAccumulators() {
        Assumptions.assumeTrue(LaneSums.FOUR_ROWS, "the four-row form needs 16 lanes");
        float[] acc = new float[64];
        for (int i = 0; i < acc.length; i++) acc[i] = i * 0.5f - 7;
        float[] expected = new float[4];
        for (int r = 0; r < 4; r++) expected[r] = LaneSums.of(acc, 16 * r);
        LaneSums.sumFourRows(acc, 0, acc, 0, 4);
        for (int r = 0; r < 4; r++) assertEquals(expected[r], acc[r], "row " + r);
    }
}
