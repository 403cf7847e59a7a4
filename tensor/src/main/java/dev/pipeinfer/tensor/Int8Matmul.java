package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * The matmul on {@link MatmulActivations#INT8} activations ({@link Int8Activations}), for weight types whose
 * blocks are 32 integers and one scale (Q8_0, Q4_0): per block, the exact integer dot product of the weight's
 * and the activation's quants, times {@code d_weight * d_activation}, summed in float. This is llama.cpp's
 * {@code ggml_vec_dot_q8_0_q8_0} / {@code q4_0_q8_0}, so results follow its {@code mm} output.
 *
 * <p>The vector kernels work on 256-bit vectors whatever the CPU's width: a block's 32 weights and 32
 * activation quants are two pairs of 16-bit vectors; their products (16-bit, exact: |q_w x q_x| <= 128 x 127)
 * are added pairwise into eight 32-bit sums ({@link #pairSums}), converted to float and accumulated with one
 * FMA by the block's scale. That is about 16 instructions per block and row where the f32 kernels need about
 * 32 (four conversions, multiplies and FMAs of eight lanes). The Vector API has no int8 or int16 dot-product
 * operation (AVX2's {@code vpmaddubsw} / {@code vpmaddwd}), which is why the pairs are summed by shifts.
 *
 * <p><b>Order of sums</b>, the same for every kernel and every n, so the matmul stays batch-invariant: per
 * output, one accumulator of eight float lanes, blocks in increasing order, then {@link #sumLanes}.
 */
final class Int8Matmul {
    static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    static final int QK = Int8Activations.QK;

    /** The vector kernels need 256-bit vectors (and are not narrowed below that by -Dpipeinfer.vectorBits). */
    static final boolean VECTORS = Lanes.F.vectorBitSize() >= 256;

    private Int8Matmul() {}

    /** A weight type's side of the INT8 matmul. Row and block arguments are byte offsets into {@code s}. */
    interface Kernels {
        /** Bytes per block of 32 weights. */
        int blockBytes();

        /** Scalar reference: the block's weight scale d. */
        float scale(MemorySegment s, long block);

        /** Scalar reference: the exact integer dot product of the block's quants with {@code xq[at .. at + 32)}. */
        int blockDot(MemorySegment s, long block, short[] xq, int at);

        /**
         * Rows row0 and row1 against activation row 0: their accumulators left at {@code lanes[0..8)} and
         * {@code lanes[8..16)} (row1 may equal row0).
         */
        void twoRows(MemorySegment s, long row0, long row1, int blocks, short[] xq, float[] xd, float[] lanes);

        /**
         * The row's weights as 16-bit integers ({@code quants[32 b ..]}, in the order the activation quants
         * pair with) and its block scales ({@code scales[b]}): what the batch kernel ({@link #dotTwo}) reads.
         */
        void decode(MemorySegment s, long row, int blocks, short[] quants, float[] scales);

        /** Whether every pair of adjacent 16-bit products sums below 2^15, so {@link #smallPairSums} applies. */
        boolean smallProducts();
    }

    /** Rows [from, to) of {@code y = x W^T} for the n quantized rows of {@code x}, with the vector kernels. */
    static void rows(Kernels kernels, WeightMatrix w, Int8Activations x, int n, float[] y, int yOffset, int from, int to,
                     KernelScratch scratch) {
        int k = w.cols, m = w.rows, blocks = k / QK;
        if (n == 1) { // rows r and r + half together: two memory streams pages apart (see RowStreams)
            int half = (to - from + 1) / 2;
            for (int r0 = from; r0 < from + half; r0++) {
                int r1 = r0 + half;
                boolean pair = r1 < to;
                kernels.twoRows(w.data, w.rowOffset(r0), w.rowOffset(pair ? r1 : r0), blocks, x.quants, x.scales, scratch.lanes);
                y[yOffset + r0] = sumLanes(scratch.lanes, 0);
                if (pair) y[yOffset + r1] = sumLanes(scratch.lanes, 8);
            }
            return;
        }
        short[] quants = scratch.int8Row(k);
        float[] scales = scratch.scales(blocks), lanes = scratch.lanes;
        for (int r = from; r < to; r++) {
            kernels.decode(w.data, w.rowOffset(r), blocks, quants, scales);
            for (int j = 0; j < n; j += 2) {
                boolean pair = j + 1 < n;
                dotTwo(quants, scales, blocks, x.quants, x.scales, j, pair ? j + 1 : j, kernels.smallProducts(), lanes);
                y[yOffset + j * m + r] = sumLanes(lanes, 0);
                if (pair) y[yOffset + (j + 1) * m + r] = sumLanes(lanes, 8);
            }
        }
    }

    /**
     * A decoded weight row against activation rows j0 and j1: accumulators left at {@code lanes[0..8)} and
     * {@code lanes[8..16)}. The integer sums equal the fused kernels' (both exact), so the bits do too. Batches
     * take this form because a fused kernel for four activation rows grew past what C2 inlines
     * (NodeCountInliningCutoff) and boxed its vectors: 46 MB of garbage per call.
     */
    static void dotTwo(short[] w, float[] wd, int blocks, short[] xq, float[] xd, int j0, int j1, boolean small,
                       float[] lanes) {
        int x0 = j0 * blocks * QK, x1 = j1 * blocks * QK, s0 = j0 * blocks, s1 = j1 * blocks;
        FloatVector acc0 = FloatVector.zero(F8), acc1 = acc0;
        for (int b = 0; b < blocks; b++) {
            int wi = b * QK;
            ShortVector low = ShortVector.fromArray(S16, w, wi), high = ShortVector.fromArray(S16, w, wi + 16);
            ShortVector p0 = low.mul(ShortVector.fromArray(S16, xq, x0 + wi)).add(high.mul(ShortVector.fromArray(S16, xq, x0 + wi + 16)));
            ShortVector p1 = low.mul(ShortVector.fromArray(S16, xq, x1 + wi)).add(high.mul(ShortVector.fromArray(S16, xq, x1 + wi + 16)));
            float d = wd[b];
            FloatVector sum0 = small ? smallPairSums(p0) : pairSums(p0), sum1 = small ? smallPairSums(p1) : pairSums(p1);
            acc0 = sum0.fma(FloatVector.broadcast(F8, d * xd[s0 + b]), acc0);
            acc1 = sum1.fma(FloatVector.broadcast(F8, d * xd[s1 + b]), acc1);
        }
        acc0.intoArray(lanes, 0);
        acc1.intoArray(lanes, 8);
    }

    /**
     * Scalar reference, the order of llama.cpp's generic C code: per output, block by block,
     * {@code sum += isum * (d_weight * d_activation)}.
     */
    static void rowsScalar(Kernels kernels, WeightMatrix w, Int8Activations x, int n, float[] y, int yOffset, int from,
                           int to) {
        int k = w.cols, m = w.rows, blocks = k / QK, bytes = kernels.blockBytes();
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            for (int j = 0; j < n; j++) {
                float sum = 0;
                for (int b = 0; b < blocks; b++) {
                    long block = row + (long) b * bytes;
                    int isum = kernels.blockDot(w.data, block, x.quants, j * k + b * QK);
                    sum += isum * (kernels.scale(w.data, block) * x.scales[j * blocks + b]);
                }
                y[yOffset + j * m + r] = sum;
            }
        }
    }

    /** Eight lanes summed as a halving tree (lane i + lane i + 4, then (0 + 2) + (1 + 3)). */
    static float sumLanes(float[] lanes, int a) {
        float c0 = lanes[a] + lanes[a + 4], c1 = lanes[a + 1] + lanes[a + 5];
        float c2 = lanes[a + 2] + lanes[a + 6], c3 = lanes[a + 3] + lanes[a + 7];
        return (c0 + c2) + (c1 + c3);
    }

    /**
     * Sixteen 16-bit lanes added in adjacent pairs, as eight floats (exact): each int lane holds a pair, its
     * low half sign-extended by shifting up and back, its high half by shifting down.
     */
    static FloatVector pairSums(ShortVector products) {
        IntVector pairs = products.reinterpretAsInts();
        IntVector low = pairs.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16);
        return (FloatVector) low.add(pairs.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0);
    }

    /**
     * {@link #pairSums} in three instructions instead of four, valid while every pair sums to less than 2^15 in
     * magnitude: the low half shifted up and added makes the pair's sum the high half (plus the low half's
     * unsigned bits below, which the arithmetic shift drops).
     */
    static FloatVector smallPairSums(ShortVector products) {
        IntVector pairs = products.reinterpretAsInts();
        return (FloatVector) pairs.add(pairs.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)
                .convert(VectorOperators.I2F, 0);
    }
}
