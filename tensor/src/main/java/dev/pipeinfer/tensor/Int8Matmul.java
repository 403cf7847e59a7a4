package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * The matmul on {@link MatmulActivations#INT8} activations ({@link Int8Activations}), for the weight types
 * whose blocks are 32 integers and one scale (Q8_0, Q4_0): per block, the exact integer dot product of the
 * weight's and the activation's quants, times {@code d_weight * d_activation}, summed in float. This is
 * llama.cpp's {@code ggml_vec_dot_q8_0_q8_0} / {@code q4_0_q8_0}, so results follow its {@code mm} output.
 *
 * <p>The vector kernels work on 256-bit vectors whatever the CPU's width: 16 weights and 16 activation quants
 * are 16-bit lanes; their products (16-bit, exact: |q_w x q_x| <= 128 x 127) are added pairwise into eight
 * 32-bit sums ({@link #biasedPairSums}), converted to float and accumulated with one FMA by the block's scale
 * (the weight's fp16 scale from {@link HalfFloatTable} times the activation's, both already in eight lanes).
 * The Vector API has no int8 or int16 dot-product operation (AVX2's {@code vpmaddubsw} / {@code vpmaddwd}),
 * which is why the pairs are summed by a shift, an or and an add.
 *
 * <p>Where the n = 1 time goes (Q4_0, JMH 5632x2048, 1 thread, Zen 2, cycles a block and row, taking out one
 * part at a time in a microbenchmark): 8.6 as written before, 6.2 with no scale at all, 7.4 with no pair sums;
 * the scale from the table and eight lanes 7.9, the shifts of the pair sums down from two to one 7.8. The loop
 * runs about four instructions a cycle, half of them C2's address arithmetic, so fewer vector operations
 * alone buy little; four rows at a time made C2 give up inlining (46 cycles). Read in C2's machine code
 * (tools/hsdis-capstone), that loop reloaded six invariants from the stack and rebuilt its nibble mask twice
 * an iteration; with the activation index and the weight offset stepped as loop variables ({@code i += 8},
 * the arrays read at {@code 4 i}, {@code 2 i} and {@code i}; {@code o0 += BLOCK_BYTES}) they stay in
 * registers: JMH 5632x2048 n = 1, calls/s, Q4_0 1049 -> 1256 on 1 thread, 2068 -> 2586 on 2; Q8_0 982 -> 1193
 * and 1905 -> 2270. The same change to the batch kernel ({@code rowTimesTwo}) won in JMH (n = 2 661 -> 746)
 * and lost in the engine (a 1.1B model's batch of 2, 2 threads: 82 -> 100 ms), so it was reverted.
 *
 * <p><b>Order of sums</b>, the same for every kernel of a type and every n, so the matmul stays
 * batch-invariant: per output, one accumulator of eight float lanes, blocks in increasing order, then
 * {@link LaneSums#ofEight}.
 *
 * <p>Q4_K was measured with int8 activations too, twice (llama.cpp's Q8_K; 16-bit products, pairs summed into
 * ints times the 6-bit scales). First: n = 1 536 against 502 calls/s of 5632x2048 on the f32 path, n = 8 75
 * against 144. Then with a group's 32 bytes read as sixteen 16-bit lanes: its loop ran 76-79 cycles a
 * super-block in cache against about 100, but with the row's scales unpacked first it was 523 against 739
 * calls/s in JMH (mapped weights), and every larger shape of it (groups written out, two rows at a time,
 * scales unpacked in the loop) passed C2's node limit for one compilation, which then leaves vector operations
 * to the Java fallback. The k-quants stay f32. (JMH, 1 thread, Zen 2; docs/performance.md, fifth and sixth sessions.)
 *
 * <p>Batches as float products on the exact integer values (every partial sum of a block is an integer below
 * 2^24, so the same bits) were slower than the 16-bit kernels, 1.4-2.2x; so were the decoded row against four
 * activation rows, or one, instead of two.
 */
final class Int8Matmul {
    static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;

    /** The vector kernels need 256-bit vectors (and are not narrowed below that by -Dpipeinfer.vectorBits). */
    static final boolean VECTORS = Lanes.F.vectorBitSize() >= 256;

    /** Where a kernel leaves its two finished outputs in the lanes scratch (past two accumulators). */
    static final int RESULT = 16;

    private Int8Matmul() {}

    /** A weight type's side of the INT8 matmul (blocks of 32 weights). Row arguments are byte offsets into {@code s}. */
    interface Kernels {
        /**
         * n = 1: rows row0 and row1 (row1 may equal row0) against activation row 0, the two dot products left
         * at {@code scratch.lanes[RESULT]} and {@code [RESULT + 1]}.
         */
        void twoRows(MemorySegment s, long row0, long row1, int blocks, Int8Activations x, KernelScratch scratch);

        /**
         * Batches: row {@code row} against activation rows j0 and j1 (j1 may equal j0), each block decoded once
         * for both; the dot products left at {@code lanes[RESULT]} and {@code lanes[RESULT + 1]}, with the
         * operations of {@link #twoRows}, so the same bits. Measured against (JMH 5632x2048, 1 thread, calls/s):
         * decoding each row to 16-bit integers once and dotting the decoded row with the activation pairs (Q8_0
         * n = 2 362 against 497 here, n = 8 124 against 132: Q4_0 takes it from n = 3, {@link #DECODED_FROM}),
         * and four activation rows per call (C2 gave up on the kernel and boxed its vectors, 50 MB a call).
         */
        void rowTimesTwo(MemorySegment s, long row, int blocks, Int8Activations x, int j0, int j1, KernelScratch scratch);

        /**
         * Larger batches, where the type has it (Q4_0): the row's weights as 16-bit integers in activation order
         * ({@code quants[32 b ..]}) and its block scales ({@code scales[b]}), for {@link #decodedRowTimesTwo};
         * false when the type has none.
         */
        default boolean decode(MemorySegment s, long row, int blocks, short[] quants, float[] scales) {
            return false;
        }

        /** Scalar reference, in the order of llama.cpp's generic C code: row {@code row} against activation row j. */
        float dotScalar(MemorySegment s, long row, int blocks, Int8Activations x, int j);
    }

    /** Rows [from, to) of {@code y = x W^T} for the n quantized rows of {@code x}, with the vector kernels. */
    static void rows(Kernels kernels, WeightMatrix w, Int8Activations x, int n, float[] y, int yOffset, int from, int to,
                     KernelScratch scratch) {
        int k = w.cols, m = w.rows, blocks = k / Int8Activations.QK;
        float[] lanes = scratch.lanes;
        if (n == 1) { // rows r and r + half together: two memory streams pages apart (see RowStreams)
            int half = (to - from + 1) / 2;
            for (int r0 = from; r0 < from + half; r0++) {
                int r1 = r0 + half;
                boolean pair = r1 < to;
                kernels.twoRows(w.data, w.rowOffset(r0), w.rowOffset(pair ? r1 : r0), blocks, x, scratch);
                y[yOffset + r0] = lanes[RESULT];
                if (pair) y[yOffset + r1] = lanes[RESULT + 1];
            }
            return;
        }
        if (n >= DECODED_FROM && decodedRows(kernels, w, x, n, y, yOffset, from, to, scratch)) return;
        for (int r = from; r < to; r++) { // the row comes from memory once, from L1 for the further pairs
            long row = w.rowOffset(r);
            for (int j = 0; j < n; j += 2) {
                boolean pair = j + 1 < n;
                kernels.rowTimesTwo(w.data, row, blocks, x, j, pair ? j + 1 : j, scratch);
                y[yOffset + j * m + r] = lanes[RESULT];
                if (pair) y[yOffset + (j + 1) * m + r] = lanes[RESULT + 1];
            }
        }
    }

    /**
     * Batches from this size decode each weight row once where the type can ({@link Kernels#decode}): Q4_0's
     * nibbles cost more to unpack than its products, and the fused pair kernel unpacks them again for every
     * pair of activation rows. JMH 5632x2048, 1 thread, Q4_0, calls/s decoded against fused: n = 2 573 / 624,
     * n = 3 366 / 316, n = 4 360 / 310, n = 8 200 / 156, n = 16 109 / 79. (Q8_0, whose bytes only widen, gained
     * nothing: n = 8 124 against 132.)
     */
    static final int DECODED_FROM = 3;

    private static boolean decodedRows(Kernels kernels, WeightMatrix w, Int8Activations x, int n, float[] y, int yOffset,
                                       int from, int to, KernelScratch scratch) {
        int k = w.cols, m = w.rows, blocks = k / Int8Activations.QK;
        short[] quants = scratch.int8Row(k);
        float[] scales = scratch.scales(blocks), lanes = scratch.lanes;
        for (int r = from; r < to; r++) {
            if (!kernels.decode(w.data, w.rowOffset(r), blocks, quants, scales)) return false; // (then at the first row)
            for (int j = 0; j < n; j += 2) {
                boolean pair = j + 1 < n;
                decodedRowTimesTwo(quants, scales, blocks, x, j, pair ? j + 1 : j, lanes);
                y[yOffset + j * m + r] = lanes[RESULT];
                if (pair) y[yOffset + (j + 1) * m + r] = lanes[RESULT + 1];
            }
        }
        return true;
    }

    /**
     * A decoded row of a type whose pairs of products stay below 2^15 (Q4_0, see {@link #smallPairSums}) against
     * activation rows j0 and j1: the same integers and float operations as the type's fused kernels.
     */
    static void decodedRowTimesTwo(short[] w, float[] wd, int blocks, Int8Activations x, int j0, int j1, float[] lanes) {
        short[] xq = x.quants;
        float[] xd = x.scales;
        int x0 = j0 * blocks * 32, x1 = j1 * blocks * 32, s0 = j0 * blocks, s1 = j1 * blocks;
        FloatVector acc0 = FloatVector.zero(F8), acc1 = acc0;
        for (int b = 0; b < blocks; b++) {
            int wi = b * 32;
            ShortVector low = ShortVector.fromArray(S16, w, wi), high = ShortVector.fromArray(S16, w, wi + 16);
            ShortVector p0 = low.mul(ShortVector.fromArray(S16, xq, x0 + wi)).add(high.mul(ShortVector.fromArray(S16, xq, x0 + wi + 16)));
            ShortVector p1 = low.mul(ShortVector.fromArray(S16, xq, x1 + wi)).add(high.mul(ShortVector.fromArray(S16, xq, x1 + wi + 16)));
            float d = wd[b];
            acc0 = smallPairSums(p0).fma(FloatVector.broadcast(F8, d * xd[s0 + b]), acc0);
            acc1 = smallPairSums(p1).fma(FloatVector.broadcast(F8, d * xd[s1 + b]), acc1);
        }
        finishTwo(acc0, acc1, lanes);
    }

    /** The scalar reference over rows [from, to). */
    static void rowsScalar(Kernels kernels, WeightMatrix w, Int8Activations x, int n, float[] y, int yOffset, int from,
                           int to) {
        int m = w.rows, blocks = w.cols / Int8Activations.QK;
        for (int r = from; r < to; r++) {
            for (int j = 0; j < n; j++) y[yOffset + j * m + r] = kernels.dotScalar(w.data, w.rowOffset(r), blocks, x, j);
        }
    }

    /** The exact integer dot product of one 32-weight block with the activation quants at {@code xq[at ..]}. */
    interface BlockDot {
        int of(MemorySegment s, long block, short[] xq, int at);
    }

    /**
     * The scalar reference of the 32-weight block types, whose blocks start with their fp16 scale: per block
     * {@code sum += isum * (d_weight * d_activation)}, as llama.cpp's generic C code.
     */
    static float dotScalarBlocksOf32(MemorySegment s, long row, int blocks, int blockBytes, Int8Activations x, int j,
                                     BlockDot dot) {
        float sum = 0;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * blockBytes;
            int isum = dot.of(s, block, x.quants, (j * blocks + b) * 32);
            sum += isum * (TensorFormat.fp16(s, block) * x.scales[j * blocks + b]);
        }
        return sum;
    }

    /** The two accumulators' lane sums into {@code lanes[RESULT]} and {@code lanes[RESULT + 1]}. */
    static void finishTwo(FloatVector acc0, FloatVector acc1, float[] lanes) {
        acc0.intoArray(lanes, 0);
        acc1.intoArray(lanes, 8);
        lanes[RESULT] = LaneSums.ofEight(lanes, 0);
        lanes[RESULT + 1] = LaneSums.ofEight(lanes, 8);
    }

    /** {@link #smallPairSums} as ints. */
    static IntVector smallPairSumsInt(ShortVector products) {
        IntVector pairs = products.reinterpretAsInts();
        return pairs.add(pairs.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
    }

    private static final IntVector HIGH_HALVES = IntVector.broadcast(IntVector.SPECIES_256, 0xFFFF0000);
    private static final ShortVector BIAS = ShortVector.broadcast(S16, (short) 0x8000);

    /** Products within ±(2^15 - 1), as {@link #biasedPairSums} wants them: each lane plus 2^15, so unsigned. */
    static ShortVector biased(ShortVector products) {
        return products.add(BIAS);
    }

    /**
     * Sixteen 16-bit lanes, each a sum of products plus 2^15 (so each an unsigned 16-bit number), added in
     * adjacent pairs as eight floats, exact, with one shift (Zen 2 shifts in one pipe only): each int lane holds
     * a pair; or-ing ones into its high half makes it the low lane minus 2^16, its high lane shifted down is the
     * high lane, and their sum is the pair's sum, the two biases cancelling the 2^16.
     */
    static FloatVector biasedPairSums(ShortVector biasedProducts) {
        IntVector pairs = biasedProducts.reinterpretAsInts();
        return (FloatVector) pairs.or(HIGH_HALVES).add(pairs.lanewise(VectorOperators.LSHR, 16))
                .convert(VectorOperators.I2F, 0);
    }

    /**
     * Sixteen 16-bit lanes added in adjacent pairs, as eight floats (exact), valid while every pair sums to less
     * than 2^15 in magnitude: the low half shifted up and added makes the pair's sum the high half (plus the low
     * half's unsigned bits below, which the arithmetic shift drops).
     */
    static FloatVector smallPairSums(ShortVector products) {
        return (FloatVector) smallPairSumsInt(products).convert(VectorOperators.I2F, 0);
    }
}
