package dev.pipeinfer.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static dev.pipeinfer.tensor.MatmulActivations.INT8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The matmul on int8 activations ({@link MatmulActivations#INT8}) reproduces llama.cpp's own product
 * ({@code mm}, which quantizes activations to Q8_0 the same way) within 1e-5 of max|y|, for Q8_0 and Q4_0 at
 * every row length of the references, on the vector and the scalar path; other types ignore the mode.
 */
class Int8MatmulTest {
    static List<KernelCases> cases() {
        return KernelCases.all().stream().filter(c -> TensorFormat.of(c.type()).int8Kernels() != null).toList();
    }

    @Test
    void theReferencesCoverBothTypesWithInt8Kernels() {
        assertEquals(List.of("Q4_0", "Q8_0"), cases().stream().map(c -> c.type().name()).distinct().sorted().toList());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void vectorPathMatchesLlamaCppOnOneAndTwoThreads(KernelCases c) {
        for (ComputePool pool : new ComputePool[] {ComputePools.ONE, ComputePools.TWO}) {
            float[] y = new float[4 * c.rows()];
            Matmul.matmul(c.matrix(), c.x(), 0, 4, y, 0, pool, INT8);
            MatmulTest.assertClose(c.mm(), y, 1e-5, c + " threads=" + pool.threads());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void scalarPathMatchesLlamaCpp(KernelCases c) {
        float[] y = new float[4 * c.rows()];
        Matmul.matmulInt8Scalar(c.matrix(), c.x(), 0, 4, y, 0);
        MatmulTest.assertClose(c.mm(), y, 1e-5, c);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void offsetsPlaceRowsWhereAsked(KernelCases c) {
        float[] x = new float[5 + 4 * c.k()];
        System.arraycopy(c.x(), 0, x, 5, 4 * c.k());
        float[] y = new float[3 + 4 * c.rows()];
        Matmul.matmul(c.matrix(), x, 5, 4, y, 3, ComputePools.TWO, INT8);
        MatmulTest.assertClose(c.mm(), java.util.Arrays.copyOfRange(y, 3, y.length), 1e-5, c);
    }

    @Test
    void typesWithoutInt8KernelsGiveTheirF32Result() {
        for (KernelCases c : KernelCases.core()) {
            if (TensorFormat.of(c.type()).int8Kernels() != null) continue;
            float[] f32 = new float[4 * c.rows()], int8 = new float[4 * c.rows()];
            Matmul.matmul(c.matrix(), c.x(), 0, 4, f32, 0, ComputePools.TWO, MatmulActivations.F32);
            Matmul.matmul(c.matrix(), c.x(), 0, 4, int8, 0, ComputePools.TWO, INT8);
            assertArrayEquals(f32, int8, c.toString());
        }
    }

    @Test
    void theScalarReferenceRefusesTypesWithoutInt8Kernels() {
        KernelCases f32 = KernelCases.core().stream().filter(c -> c.type().name().equals("F32")).findFirst().orElseThrow();
        assertThrows(IllegalArgumentException.class,
                () -> Matmul.matmulInt8Scalar(f32.matrix(), f32.x(), 0, 1, new float[f32.rows()], 0));
    }

    @Test
    void quantizationScalesTheLargestMagnitudeTo127AndRoundsHalvesToEven() {
        float[] x = new float[32];
        x[0] = -12.7f;  // amax: d = 0.1 (as fp16), id = 10
        x[1] = 0.25f;   // 2.5 -> 2 (half to even; C's roundf would give 3)
        x[2] = 0.35f;   // 3.5 (nearly) -> 4 or 3 by the float product, never 3.5 truncated
        x[3] = -0.05f;  // -0.5 -> -0 (half to even)
        Int8Activations q = new Int8Activations();
        q.quantize(x, 0, 1, 32);
        assertEquals(-127, q.quants[0]);
        assertEquals(2, q.quants[1]);
        assertEquals(Math.rint(0.35f * (127f / 12.7f)), q.quants[2]);
        assertEquals(0, q.quants[3]);
        assertEquals(Float.float16ToFloat(Float.floatToFloat16(12.7f / 127f)), q.scales[0]);
    }

    @Test
    void anAllZeroBlockHasScaleZero() {
        Int8Activations q = new Int8Activations();
        q.quantize(new float[64], 0, 2, 32);
        assertEquals(0f, q.scales[0]);
        assertEquals(0f, q.scales[1]);
        for (int i = 0; i < 64; i++) assertEquals(0, q.quants[i]);
    }

    @Test
    void rowLengthsThatAreNotWholeBlocksAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Int8Activations().quantize(new float[48], 0, 1, 48));
    }

    @Test
    void activationModesParseAsTheCommandLineSpellsThem() {
        assertEquals(MatmulActivations.INT8, MatmulActivations.parse("int8"));
        assertEquals(MatmulActivations.F32, MatmulActivations.parse(" F32 "));
        assertThrows(IllegalArgumentException.class, () -> MatmulActivations.parse("q4"));
        assertEquals(MatmulActivations.preferred(), MatmulActivations.parse("AUTO"));
    }

    @Test
    void autoTakesInt8WhereTheVectorsAre256Bits() {
        // measured faster there (AVX2); on wider vectors the f32 kernels use 512 bits and the int8 ones 256
        assertEquals(Lanes.F.vectorBitSize() == 256 ? INT8 : MatmulActivations.F32, MatmulActivations.preferred());
    }
}
