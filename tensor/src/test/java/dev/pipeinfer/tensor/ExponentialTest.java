package dev.pipeinfer.tensor;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The softmax exponential: close to Math.exp, and the vector and one-value forms agree bit for bit. */
class ExponentialTest {

    @Test
    void staysWithinTwoUlpOfMathExpOverTheWholeRange() {
        double worst = 0;
        for (float x = -86f; x <= 0f; x = Math.nextUp(x) + 1e-4f) {
            float got = Exponential.exp(x);
            double want = Math.exp(x);
            double ulps = Math.abs(got - want) / Math.ulp((float) want);
            worst = Math.max(worst, ulps);
        }
        assertTrue(worst <= 2, "worst error " + worst + " ulp");
        assertEquals(1f, Exponential.exp(0f));
        assertEquals(1f, Exponential.exp(-0f));
    }

    @Test
    void vanishesBelowMinus86() {
        assertEquals(0f, Exponential.exp(-86.5f));
        assertEquals(0f, Exponential.exp(Float.NEGATIVE_INFINITY));
        float[] s = {-90f, Float.NEGATIVE_INFINITY, -87f};
        Exponential.expShifted(s, 3, 0f);
        assertEquals(0f, s[0]);
        assertEquals(0f, s[1]);
        assertEquals(0f, s[2]);
    }

    @Test
    void theVectorFormGivesTheBitsOfTheOneValueFormAtEveryLengthAndShift() {
        SplittableRandom random = new SplittableRandom(7);
        for (int count = 0; count <= 67; count++) {
            float[] s = new float[count], expected = new float[count];
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < count; j++) {
                s[j] = (float) (random.nextDouble() * 60 - 30);
                max = Math.max(max, s[j]);
            }
            for (int j = 0; j < count; j++) expected[j] = Exponential.exp(s[j] - max);
            Exponential.expShifted(s, count, max);
            for (int j = 0; j < count; j++) {
                assertEquals(Float.floatToRawIntBits(expected[j]), Float.floatToRawIntBits(s[j]),
                        "count " + count + ", value " + j);
            }
        }
    }

    @Test
    void theFormWithADestinationLeavesItsSourceAloneAndGivesTheSameBits() {
        SplittableRandom random = new SplittableRandom(9);
        for (int count : new int[]{0, 1, 15, 16, 17, 512, 515}) {
            float[] src = new float[count], dst = new float[count + 3];
            for (int j = 0; j < count; j++) src[j] = (float) (random.nextGaussian() * 8);
            float max = 10f;
            float[] before = src.clone();
            Exponential.expShifted(src, count, max, dst);
            for (int j = 0; j < count; j++) {
                assertEquals(Float.floatToRawIntBits(before[j]), Float.floatToRawIntBits(src[j]), "source changed at " + j);
                assertEquals(Float.floatToRawIntBits(Exponential.exp(src[j] - max)), Float.floatToRawIntBits(dst[j]),
                        "count " + count + ", value " + j);
            }
            for (int j = count; j < dst.length; j++) assertEquals(0f, dst[j], "written past count at " + j);
        }
    }
}
