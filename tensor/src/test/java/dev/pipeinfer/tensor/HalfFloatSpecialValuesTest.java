package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The n = 1 kernels of F16 and BF16 turn 16-bit floats into floats in registers, with integer operations
 * (F16: shift and mask, each half then being its value / 2^112, against activations scaled by 2^112), not
 * with the decoder the other paths use. They must give the same bits for every encoding: subnormal halves,
 * signed zeros, the largest finite values, and rows that hold Inf or NaN (which F16's kernel hands to the
 * decoder), in every position of the rows a kernel reads together; and for every activation: subnormal, Inf,
 * NaN, and too large to scale (from 2^16 on, which F16's kernel hands to the decoder too).
 * The reference is the tiled path ({@link Matmul#tiled}), which decodes rows first: with vcvtph2ps for F16,
 * exact by definition. Both the n = 1 kernel and the batch kernel (n = 2) must give its bits.
 */
class HalfFloatSpecialValuesTest {
    static final int K = 80; // five chunks of 16: an odd count, so the last chunk goes to the even accumulator
    static final int ROWS = 11;

    /** Row r holds ordinary values, and rows 2, 5 and 9 one special value each; the rest subnormals and zeros. */
    static MemorySegment weights(GgmlType type, short special) {
        MemorySegment data = Arena.ofAuto().allocate(2L * K * ROWS, 64);
        Random random = new Random(7);
        for (int r = 0; r < ROWS; r++) {
            for (int i = 0; i < K; i++) {
                short bits = switch (i % 5) {
                    case 0 -> (short) (random.nextInt(0x3FF) + 1 | (random.nextBoolean() ? 0x8000 : 0)); // subnormal in F16, tiny in BF16
                    case 1 -> (short) (random.nextBoolean() ? 0x8000 : 0);                                 // +-0
                    case 2 -> type == GgmlType.F16 ? (short) 0x7BFF : (short) 0x7F7F;                      // largest finite
                    default -> type == GgmlType.F16 ? Float.floatToFloat16((float) random.nextGaussian())
                            : (short) (Float.floatToRawIntBits((float) random.nextGaussian()) >>> 16);
                };
                data.setAtIndex(TensorFormat.LE_SHORT, (long) r * K + i, bits);
            }
        }
        if (special != 0) for (int r : new int[] {2, 5, 9}) data.setAtIndex(TensorFormat.LE_SHORT, (long) r * K + 3 + r, special);
        return data;
    }

    static float[] activations(int n) {
        Random random = new Random(11);
        float[] x = new float[n * K];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian() * 1e-3f;
        return x;
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = GgmlType.class, names = {"F16", "BF16"})
    void everyEncodingGivesTheBitsOfTheDecodingPath(GgmlType type) {
        boolean before = RowStreams.fourRows();
        RowStreams.setFourRows(false); // the in-register kernels (Intel CPUs take the tiled path by default)
        try {
            checkEveryEncoding(type);
        } finally {
            RowStreams.setFourRows(before);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = GgmlType.class, names = {"F16", "BF16"})
    void everyActivationGivesTheBitsOfTheDecodingPath(GgmlType type) {
        boolean before = RowStreams.fourRows();
        RowStreams.setFourRows(false);
        try {
            float[][] unusual = { // each case alone: one value from 2^16 on sends the whole row to the decoder
                    {0x1p-140f, -0x1p-149f, Float.MIN_NORMAL},   // subnormal and smallest normal
                    {65504f, -65535.99f, 0x1p16f - 0x1p-8f},     // just below 2^16: scaled
                    {0x1p16f}, {-70000f}, {3e38f},               // 2^16 and beyond: not scaled
                    {Float.POSITIVE_INFINITY}, {Float.NaN},
            };
            WeightMatrix w = new WeightMatrix(type, weights(type, (short) 0), ROWS, K);
            for (float[] values : unusual) {
                float[] x = activations(2);
                for (int i = 0; i < values.length; i++) x[17 * i + 1] = values[i];
                System.arraycopy(x, 0, x, K, K);
                for (ComputePool pool : new ComputePool[] {ComputePools.ONE, ComputePools.TWO}) {
                    float[] alone = new float[ROWS];
                    Matmul.matmul(w, x, 1, alone, pool);
                    float[] batch = new float[2 * ROWS];
                    Matmul.matmul(w, x, 2, batch, pool);
                    float[] decoded = decodingPath(w, x, 2);
                    for (int r = 0; r < 2 * ROWS; r++) {
                        String what = type + " activations " + Arrays.toString(values) + " output " + r + " threads " + pool.threads();
                        assertEquals(Float.floatToRawIntBits(decoded[r]), Float.floatToRawIntBits(batch[r]),
                                what + ": n=2 gave " + batch[r] + ", the decoding path " + decoded[r]);
                        assertEquals(Float.floatToRawIntBits(decoded[r % ROWS]), Float.floatToRawIntBits(alone[r % ROWS]),
                                what + ": n=1 gave " + alone[r % ROWS] + ", the decoding path " + decoded[r % ROWS]);
                    }
                }
            }
        } finally {
            RowStreams.setFourRows(before);
        }
    }

    /** y = x W^T for n rows of x by the tiled path, which decodes every row to floats first. */
    private static float[] decodingPath(WeightMatrix w, float[] x, int n) {
        float[] y = new float[n * w.rows];
        Matmul.tiled(w, x, 0, n, y, 0, 0, w.rows, new KernelScratch());
        return y;
    }

    private static void checkEveryEncoding(GgmlType type) {
        short inf = type == GgmlType.F16 ? (short) 0x7C00 : (short) 0x7F80;
        short nan = type == GgmlType.F16 ? (short) 0x7E00 : (short) 0x7FC0;
        short negInf = (short) (inf | 0x8000);
        for (short special : new short[] {0, inf, negInf, nan}) {
            WeightMatrix w = new WeightMatrix(type, weights(type, special), ROWS, K);
            float[] x = activations(2);
            for (ComputePool pool : new ComputePool[] {ComputePools.ONE, ComputePools.TWO}) {
                float[] alone = new float[ROWS];
                Matmul.matmul(w, x, 1, alone, pool);               // the n = 1 kernel
                float[] again = new float[ROWS];
                Matmul.matmul(w, x, 1, again, pool);               // with the rows F16 found finite remembered
                assertArrayEquals(alone, again, type + " special " + Integer.toHexString(special & 0xFFFF) + ", a second time");
                float[] batch = new float[2 * ROWS];
                Matmul.matmul(w, x, 2, batch, pool);               // the batch kernel
                float[] decoded = decodingPath(w, x, 2);           // rows decoded first
                for (int r = 0; r < ROWS; r++) {
                    String what = type + " special " + Integer.toHexString(special & 0xFFFF) + " row " + r + " threads " + pool.threads();
                    assertEquals(Float.floatToRawIntBits(decoded[r]), Float.floatToRawIntBits(alone[r]),
                            what + ": n=1 gave " + alone[r] + ", the decoding path " + decoded[r]);
                    for (int j = 0; j < 2; j++) {
                        assertEquals(Float.floatToRawIntBits(decoded[j * ROWS + r]), Float.floatToRawIntBits(batch[j * ROWS + r]),
                                what + ": n=2 row " + j + " gave " + batch[j * ROWS + r] + ", the decoding path " + decoded[j * ROWS + r]);
                    }
                    boolean specialRow = special != 0 && (r == 2 || r == 5 || r == 9);
                    if (specialRow) assertFalse(Float.isFinite(alone[r]), what + ": " + alone[r] + " should not be finite");
                    else assertTrue(Float.isFinite(alone[r]), what + ": " + alone[r]);
                }
            }
        }
    }
}
