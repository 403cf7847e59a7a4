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
    void oneRowAtATimeMatchesLlamaCppToo(KernelCases c) {
        float[] y = new float[4 * c.rows()];
        for (int j = 0; j < 4; j++) Matmul.matmul(c.matrix(), c.x(), j * c.k(), 1, y, j * c.rows(), ComputePools.TWO, INT8);
        MatmulTest.assertClose(c.mm(), y, 1e-5, c + " n=1");
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
    void theVectorQuantizerGivesTheScalarReferencesValuesForEveryKindOfBlock() {
        java.util.Random random = new java.util.Random(11);
        int blocks = 4000;
        float[] x = new float[32 * blocks];
        for (int b = 0; b < blocks; b++) {
            float magnitude = (float) Math.pow(2, random.nextInt(80) - 40);
            for (int i = 0; i < 32; i++) {
                int at = 32 * b + i;
                x[at] = switch (b % 8) {
                    case 0 -> (float) random.nextGaussian() * magnitude;
                    case 1 -> (random.nextInt(255) - 127) * 0.5f * magnitude / 127f; // many products near halves
                    case 2 -> i == 5 ? -magnitude : (random.nextInt(9) - 4) * magnitude / 8; // exact halves of 127 / 8
                    case 3 -> i % 3 == 0 ? -0f : 0f;                                        // all zero, signed
                    case 4 -> i == 0 ? Float.MIN_VALUE * (1 + random.nextInt(100)) : 0f;    // subnormal: 127 / amax overflows
                    case 5 -> i == 7 ? Float.NaN : (float) random.nextGaussian();
                    case 6 -> i == 3 ? Float.NEGATIVE_INFINITY : (float) random.nextGaussian();
                    default -> (float) random.nextGaussian() * 3e38f / 4;                   // near the largest floats
                };
            }
        }
        Int8Activations vectors = new Int8Activations(), scalar = new Int8Activations();
        vectors.quantize(x, 0, blocks / 4, 128);
        scalar.quantizeScalar(x, 0, blocks / 4, 128);
        assertArrayEquals(scalar.quants, vectors.quants);
        assertArrayEquals(scalar.scales, vectors.scales);
        assertArrayEquals(scalar.scaleLanes, vectors.scaleLanes);
        assertArrayEquals(scalar.nibbleOffsets, vectors.nibbleOffsets);
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

    @Test
    void biasedPairSumsAddAdjacentLanesExactlyOverTheWholeRangeOfProducts() {
        java.util.Random random = new java.util.Random(7);
        short[] products = new short[16];
        float[] sums = new float[8];
        for (int trial = 0; trial < 2000; trial++) {
            for (int i = 0; i < 16; i++) {
                products[i] = trial < 4 ? (short) (trial % 2 == 0 ? 32767 - trial : -32767 + trial) // the extremes
                        : (short) (random.nextInt(65535) - 32767);
            }
            Int8Matmul.biasedPairSums(Int8Matmul.biased(jdk.incubator.vector.ShortVector.fromArray(Int8Matmul.S16, products, 0)))
                    .intoArray(sums, 0);
            for (int i = 0; i < 8; i++) assertEquals(products[2 * i] + products[2 * i + 1], sums[i], "pair " + i);
        }
    }

    @Test
    void nibbleOffsetsAreWhatTheOffsetOf8TakesFromEachLanePlusTheBias() {
        float[] x = new float[32];
        for (int i = 0; i < 32; i++) x[i] = (i % 5 - 2) * 0.7f;
        Int8Activations q = new Int8Activations();
        q.quantize(x, 0, 1, 32);
        for (int i = 0; i < 16; i++) {
            int nibbleLow = i % 16, nibbleHigh = 15 - i % 16;     // any nibbles: unsigned products less the offset
            int unsigned = nibbleLow * q.quants[i] + nibbleHigh * q.quants[16 + i];
            int signed = (nibbleLow - 8) * q.quants[i] + (nibbleHigh - 8) * q.quants[16 + i];
            assertEquals(signed + (1 << 15), (short) (unsigned - q.nibbleOffsets[i]) & 0xFFFF);
        }
        for (int lane = 0; lane < 8; lane++) assertEquals(q.scales[0], q.scaleLanes[lane]);
    }

    @Test
    void theHalfFloatTableReadsEveryFp16AsTheConversionDoes() {
        java.lang.foreign.MemorySegment s = java.lang.foreign.Arena.ofAuto().allocate(2 * 65536);
        for (int bits = 0; bits < 65536; bits++) s.set(TensorFormat.LE_SHORT, 2L * bits, (short) bits);
        for (int bits = 0; bits < 65536; bits++) {
            assertEquals(Float.floatToRawIntBits(TensorFormat.fp16(s, 2L * bits)),
                    Float.floatToRawIntBits(HalfFloatTable.fp16(s, 2L * bits)), "fp16 bits " + bits);
        }
    }
}
