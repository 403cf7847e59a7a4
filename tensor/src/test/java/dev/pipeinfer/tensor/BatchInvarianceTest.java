package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Row j of Y = X W^T is bit-identical for every batch size n, every position of that row inside X, and
 * every thread count: speculative verification relies on a token's logits not depending on what else is
 * in the batch. Checked for every type and row length of the core kernel set, n = 1..16, 1 and 2 threads,
 * and at n = 1 with both {@link RowStreams} shapes; with f32 and with int8 activations.
 */
class BatchInvarianceTest {
    static final int ROWS = 37; // odd, so two threads get unequal slices
    static final int MAX_N = 16;
    static final ComputePool one = ComputePools.ONE, two = ComputePools.TWO;

    static List<KernelCases> cases() {
        return KernelCases.core();
    }

    /** The case's 8 real rows repeated to 37 rows. */
    static WeightMatrix tiled(KernelCases c) {
        long rowBytes = c.type().rowBytes(c.k());
        MemorySegment w = Arena.ofAuto().allocate(rowBytes * ROWS);
        for (int r = 0; r < ROWS; r++) w.asSlice(r * rowBytes, rowBytes).copyFrom(c.weights().asSlice((r % c.rows()) * rowBytes, rowBytes));
        return new WeightMatrix(c.type(), w, ROWS, c.k());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rowResultsDoNotDependOnBatchSizePositionOrThreads(KernelCases c) {
        checkInvariance(c, MatmulActivations.F32);
    }

    static List<KernelCases> int8Cases() {
        return KernelCases.core().stream().filter(c -> TensorFormat.of(c.type()).int8Kernels() != null).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("int8Cases")
    void withInt8ActivationsToo(KernelCases c) {
        checkInvariance(c, MatmulActivations.INT8);
    }

    static void checkInvariance(KernelCases c, MatmulActivations activations) {
        WeightMatrix w = tiled(c);
        int k = c.k();
        float[] x = new float[MAX_N * k];
        Random random = new Random(42 + k);
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();

        float[] reference = new float[MAX_N * ROWS];
        Matmul.matmul(w, x, 0, MAX_N, reference, 0, two, activations);

        for (ComputePool pool : new ComputePool[] {one, two}) {
            float[] alone = withOtherRowStreams(() -> {
                float[] y = new float[ROWS];
                Matmul.matmul(w, x, 0, 1, y, 0, pool, activations);
                return y;
            });
            expectRow(reference, 0, alone, 0, c + " n=1 threads=" + pool.threads() + " with the other row streams");
            for (int n = 1; n <= MAX_N; n++) {
                float[] y = new float[n * ROWS];
                Matmul.matmul(w, x, 0, n, y, 0, pool, activations);
                for (int j = 0; j < n; j++) expectRow(reference, j, y, j, c + " n=" + n + " threads=" + pool.threads());

                // the same rows in reverse order: row j now sits at position n-1-j
                float[] reversed = new float[n * k];
                for (int j = 0; j < n; j++) System.arraycopy(x, j * k, reversed, (n - 1 - j) * k, k);
                Matmul.matmul(w, reversed, 0, n, y, 0, pool, activations);
                for (int j = 0; j < n; j++) expectRow(reference, j, y, n - 1 - j, c + " reversed n=" + n + " threads=" + pool.threads());
            }
        }
    }

    static List<KernelCases> inPlaceCases() {
        return KernelCases.core().stream().filter(c -> c.type() == GgmlType.Q3_K || c.type() == GgmlType.Q4_K || c.type() == GgmlType.Q5_K || c.type() == GgmlType.Q6_K).toList();
    }

    /**
     * The n = 1 kernels of Q3_K, Q4_K, Q5_K and Q6_K read most of their weights in place, {@code q 2^s}, against
     * activations scaled by 2^-s ({@link InPlaceWeights}),
     * where the batch kernels shift the weights down: the same bits for activations from 2^-100 to 2^100 in
     * magnitude, every sign.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("inPlaceCases")
    void inPlaceRowKernelsAgreeWithTheBatchKernelsOverEveryExponent(KernelCases c) {
        WeightMatrix w = tiled(c);
        int k = c.k();
        float[] x = new float[2 * k];
        Random random = new Random(7);
        for (int i = 0; i < x.length; i++) x[i] = Math.scalb((float) random.nextGaussian(), random.nextInt(201) - 100);
        float[] pair = new float[2 * ROWS], alone = new float[ROWS];
        Matmul.matmul(w, x, 0, 2, pair, 0, one, MatmulActivations.F32);
        Matmul.matmul(w, x, 0, 1, alone, 0, one, MatmulActivations.F32);
        expectRow(pair, 0, alone, 0, c + " n=1 against n=2, activations 2^-100 .. 2^100");
    }

    /** What {@code product} gives with the n = 1 kernels reading the other {@link RowStreams} shape. */
    static float[] withOtherRowStreams(Supplier<float[]> product) {
        boolean before = RowStreams.fourRows();
        RowStreams.setFourRows(!before);
        try {
            return product.get();
        } finally {
            RowStreams.setFourRows(before);
        }
    }

    static void expectRow(float[] reference, int refRow, float[] y, int row, String what) {
        for (int r = 0; r < ROWS; r++) {
            float want = reference[refRow * ROWS + r], got = y[row * ROWS + r];
            if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(got)) {
                fail(what + ": x row " + refRow + " output " + r + " was " + got + ", with n=16 it was " + want);
            }
        }
    }
}
