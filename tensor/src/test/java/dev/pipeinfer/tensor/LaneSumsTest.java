package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The four-row vector form of the lane sum adds the same pairs as the scalar form: the same bits. */
class LaneSumsTest {

    @Test
    void fourRowsAtOnceGiveTheBitsOfEachRowAlone() {
        Assumptions.assumeTrue(LaneSums.FOUR_ROWS, "the four-row form needs 16 lanes");
        SplittableRandom random = new SplittableRandom(5);
        float[] acc = new float[64];
        for (int trial = 0; trial < 2000; trial++) {
            // magnitudes from 1e-6 to 1e6 so that a different order of the adds would show in the bits
            for (int i = 0; i < acc.length; i++) acc[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-6, 7)));
            FloatVector sums = LaneSums.ofFourRows(FloatVector.fromArray(Lanes.F, acc, 0), FloatVector.fromArray(Lanes.F, acc, 16),
                    FloatVector.fromArray(Lanes.F, acc, 32), FloatVector.fromArray(Lanes.F, acc, 48));
            for (int r = 0; r < 4; r++) {
                assertEquals(Float.floatToRawIntBits(LaneSums.of(acc, 16 * r)), Float.floatToRawIntBits(sums.lane(r)),
                        "trial " + trial + ", row " + r);
            }
        }
    }
}
