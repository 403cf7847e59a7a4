package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The shapes the reference kernel files do not have: row lengths that are not a multiple of the vector
 * width (a tail of single products) or of the 512-column tile (a short last tile), row counts that leave
 * a ragged last group of four, and every batch size up to nine. Both results must hold: the product
 * agrees with the scalar reference, and row j of Y has the same bits whatever the batch (the fused n = 1
 * kernels against the tiled ones) and whichever {@link RowStreams} shape reads it.
 */
class RaggedShapesTest {
    /** ... and rows longer than 2048 columns (odd and even chunk counts, with and without a tail). */
    static final int[] LENGTHS = {1, 15, 17, 172, 520, 1030, 2100, 4113};
    static final int ROWS = 7;
    static final ComputePool one = ComputePools.ONE, two = ComputePools.TWO;

    /**
     * Float types take any length; Q8_0 (blocks of 32) the multiples of 32 among ragged tile counts; the
     * k-quants one, three and five super-blocks.
     */
    static List<Arguments> shapes() {
        List<Arguments> shapes = new ArrayList<>();
        for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.BF16}) {
            for (int k : LENGTHS) shapes.add(Arguments.of(type, k));
        }
        for (int k : new int[] {32, 544, 1056}) shapes.add(Arguments.of(GgmlType.Q8_0, k));
        for (GgmlType type : new GgmlType[] {GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) { // own kernels on AVX2
            for (int k : new int[] {256, 768, 1280}) shapes.add(Arguments.of(type, k));
        }
        return shapes;
    }

    @ParameterizedTest(name = "{0} k={1}")
    @MethodSource("shapes")
    void productsMatchTheReferenceAndDoNotDependOnTheBatch(GgmlType type, int k) {
        Random random = new Random(31L * k + type.ordinal());
        WeightMatrix w = randomMatrix(type, k, random);
        int maxN = 9;
        float[] x = new float[maxN * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();

        float[] exact = new float[maxN * ROWS];
        Matmul.matmulScalar(w, x, 0, maxN, exact, 0);
        float[] single = new float[maxN * ROWS];
        for (int j = 0; j < maxN; j++) Matmul.matmul(w, x, j * k, 1, single, j * ROWS, one);
        MatmulTest.assertClose(exact, single, 1e-5, type + " k=" + k + " n=1");
        float[] otherStreams = BatchInvarianceTest.withOtherRowStreams(() -> {
            float[] y = new float[maxN * ROWS];
            for (int j = 0; j < maxN; j++) Matmul.matmul(w, x, j * k, 1, y, j * ROWS, one);
            return y;
        });
        for (int i = 0; i < single.length; i++) {
            if (Float.floatToRawIntBits(otherStreams[i]) != Float.floatToRawIntBits(single[i])) {
                fail(type + " k=" + k + " n=1: y[" + i / ROWS + "][" + i % ROWS + "] = " + otherStreams[i]
                        + " reading " + (RowStreams.fourRows() ? "one row" : "four rows") + " at a time, " + single[i] + " otherwise");
            }
        }

        for (ComputePool pool : new ComputePool[] {one, two}) {
            for (int n = 2; n <= maxN; n++) {
                float[] y = new float[n * ROWS];
                Matmul.matmul(w, x, n, y, pool);
                for (int i = 0; i < y.length; i++) {
                    if (Float.floatToRawIntBits(y[i]) != Float.floatToRawIntBits(single[i])) {
                        fail(type + " k=" + k + " n=" + n + " threads=" + pool.threads() + ": y[" + i / ROWS + "]["
                                + i % ROWS + "] = " + y[i] + ", alone it was " + single[i]);
                    }
                }
            }
        }
    }

    /**
     * Random weights in the type's encoding: quantized from Gaussian floats where a quantizer exists; Q3_K,
     * which has none, as random bytes with each super-block's scale {@code d} (its last two bytes) set to 1/64.
     */
    static WeightMatrix randomMatrix(GgmlType type, int k, Random random) {
        TensorFormat format = TensorFormat.of(type);
        long rowBytes = format.rowBytes(k);
        MemorySegment data = Arena.ofAuto().allocate(rowBytes * ROWS, 64);
        float[] row = new float[k];
        for (int r = 0; r < ROWS; r++) {
            if (type == GgmlType.Q3_K) {
                for (long i = 0; i < rowBytes; i++) data.set(ValueLayout.JAVA_BYTE, r * rowBytes + i, (byte) random.nextInt());
                for (long b = Q3_KFormat.BLOCK_BYTES - 2; b < rowBytes; b += Q3_KFormat.BLOCK_BYTES) {
                    TensorFormat.putFp16(data, r * rowBytes + b, 1 / 64f);
                }
                continue;
            }
            for (int i = 0; i < k; i++) row[i] = (float) random.nextGaussian() * 0.05f;
            format.quantizeRow(row, 0, data, r * rowBytes, k);
        }
        return new WeightMatrix(type, data, ROWS, k);
    }
}
