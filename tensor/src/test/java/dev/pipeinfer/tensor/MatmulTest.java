package dev.pipeinfer.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * matmul against ggml's references: with f32 activations both paths must land within 1e-5 of max|y| of
 * {@code mmexact} (the product of the dequantized rows in double), for every type and row length.
 */
class MatmulTest {
    static final ComputePool one = ComputePools.ONE, two = ComputePools.TWO;

    static List<KernelCases> cases() {
        return KernelCases.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void vectorPathMatchesExactProductOnOneAndTwoThreads(KernelCases c) {
        for (ComputePool pool : new ComputePool[] {one, two}) {
            float[] y = new float[4 * c.rows()];
            Matmul.matmul(c.matrix(), c.x(), 4, y, pool);
            assertClose(c.mmexact(), y, 1e-5, c + " threads=" + pool.threads());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void scalarPathMatchesExactProduct(KernelCases c) {
        float[] y = new float[4 * c.rows()];
        Matmul.matmulScalar(c.matrix(), c.x(), 0, 4, y, 0);
        assertClose(c.mmexact(), y, 1e-5, c);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void offsetsPlaceRowsWhereAsked(KernelCases c) {
        float[] x = new float[7 + 4 * c.k()];
        System.arraycopy(c.x(), 0, x, 7, 4 * c.k());
        float[] y = new float[3 + 4 * c.rows()];
        Matmul.matmul(c.matrix(), x, 7, 4, y, 3, two);
        float[] got = java.util.Arrays.copyOfRange(y, 3, y.length);
        assertClose(c.mmexact(), got, 1e-5, c);
    }

    @Test
    void shapeMismatchesAreReportedNotIgnored() {
        KernelCases c = KernelCases.core().get(0);
        assertThrows(IllegalArgumentException.class, () -> Matmul.matmul(c.matrix(), new float[c.k() - 1], 1, new float[c.rows()], one));
        assertThrows(IllegalArgumentException.class, () -> Matmul.matmul(c.matrix(), new float[c.k()], 1, new float[c.rows() - 1], one));
    }

    static void assertClose(float[] want, float[] got, double relative, Object what) {
        double maxAbs = 0;
        for (float v : want) maxAbs = Math.max(maxAbs, Math.abs(v));
        double max = maxAbs;
        double worst = 0;
        int at = -1;
        for (int i = 0; i < want.length; i++) {
            double e = Math.abs((double) want[i] - got[i]);
            if (e > worst) {
                worst = e;
                at = i;
            }
        }
        double tolerance = relative * max;
        double worstFinal = worst;
        int atFinal = at;
        assertTrue(worst <= tolerance, () -> what + ": max error " + worstFinal + " at " + atFinal + " > " + tolerance
                + " (max|y| " + max + ")");
    }
}
