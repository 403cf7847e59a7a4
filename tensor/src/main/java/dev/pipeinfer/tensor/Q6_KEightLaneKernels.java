package dev.pipeinfer.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.I;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * {@link Q6_KFormat} matmuls on 256-bit vectors (AVX2), every n. A half super-block's 64 ql and 32 qh bytes
 * are read as three vectors of eight ints, and each 6-bit weight assembled in its int lane by shifts and masks:
 * byte i of lane L is weight 4L + i of a quarter (32 weights), so the activations are put in that order once
 * per call ({@link #laneOrder}), as {@link FactoredKernels} does for Q4_K and Q5_K. A chunk's lanes 0-3 and 4-7 then
 * belong to two 16-weight groups with their own scales: the four chunks of a quarter are summed first and
 * multiplied by a vector holding each lane's scale ({@link #scaleVectors}), one FMA per quarter instead of a
 * multiply per chunk.
 *
 * <p>Batches decode each weight row once to floats in the same order ({@link #decode}) and multiply the
 * decoded row with four activation rows at a time ({@link #decodedTimesFour}): the same operations on the same
 * values as the fused n = 1 kernel, so the same bits.
 *
 * <p>Against the kernels it replaced (each chunk's eight bytes loaded and widened separately, each chunk
 * multiplied by its scale, the tiled path from n = 9), JMH on the Zen 2 EPYC, calls/s: 5632x2048 n = 1 299 ->
 * 381 on 1 thread, 586 -> 763 on 2; 32000x2048 51 -> 69 and 2048x5632 285 -> 356 on 1; 1 thread 5632x2048
 * n = 2 186 -> 245, n = 4 180 -> 172, n = 6 100 -> 133, n = 8 99 -> 113, n = 16 64 -> 72, n = 64 22 -> 19
 * (where the tiled path's four-by-four register tiles did better). Touching the weights
 * {@link FactoredKernels#AHEAD_ROWS} rows on ({@link RowPrefetch}): n = 1 389 -> 408-413 on 1 thread, 2048x5632
 * 354-359 -> 412-423.
 *
 * <p><b>Order of sums</b>, the same for every n: per output, each quarter's four chunks in one chain (the
 * first a multiply), added with an FMA by its scale vector to one of two accumulators, even quarters to the
 * first, odd ones to the second, quarters in order; the result {@code LaneSums.ofEight(first + second)}.
 */
final class Q6_KEightLaneKernels {
    private static final int QK = Q6_KFormat.QK;
    private static final int BLOCK_BYTES = Q6_KFormat.BLOCK_BYTES;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Q6_KEightLaneKernels() {}

    /** Whether these kernels run: 256-bit vectors (the kernels of {@link Q6_KFormat} serve 512-bit ones). */
    static boolean applies() {
        return Lanes.LANES == 8;
    }

    /** n = 1: the activations in lane order, each row's scale vectors, then {@link #row}. */
    static void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to,
                           KernelScratch scratch) {
        int k = w.cols, blocks = k / QK;
        float[] xn = scratch.reorderedActivations(k), sv = scratch.scales(64 * blocks), lanes = scratch.lanes;
        laneOrder(x, xOffset, k, xn, 0);
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            scaleVectors(w.data, row, blocks, sv);
            long aheadBytes = r + FactoredKernels.AHEAD_ROWS < w.rows ? w.rowOffset(r + FactoredKernels.AHEAD_ROWS) - row : 0;
            scratch.prefetched += row(w.data, row, blocks, sv, xn, lanes, aheadBytes);
            y[yOffset + r] = LaneSums.ofEight(lanes, 0);
        }
    }

    /**
     * n >= 2: each row decoded once ({@link #decode}), then multiplied with the activation rows four at a time
     * ({@link #decodedTimesFour}), a remainder of one or two rows two at a time ({@link #decodedTimesTwo}).
     */
    static void matmulRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                           KernelScratch scratch) {
        int k = w.cols, m = w.rows, blocks = k / QK;
        float[] xn = scratch.reorderedActivations(n * k), sv = scratch.scales(64 * blocks), lanes = scratch.lanes;
        float[] decoded = scratch.decodedRow(k);
        for (int j = 0; j < n; j++) laneOrder(x, xOffset + j * k, k, xn, j * k);
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            scaleVectors(w.data, row, blocks, sv);
            decode(w.data, row, blocks, decoded);
            decodedRowTimesAll(decoded, blocks, sv, xn, k, n, y, yOffset + r, m, lanes);
        }
    }

    /**
     * A decoded row (its scale vectors in sv) against all n activation rows in lane order ({@code xn}, k apart):
     * four at a time, a remainder of one or two two at a time; output j at {@code y[at + j * m]}.
     */
    static void decodedRowTimesAll(float[] decoded, int blocks, float[] sv, float[] xn, int k, int n, float[] y, int at,
                                   int m, float[] lanes) {
        for (int j = 0; j < n; j += 4) {
            int group = Math.min(4, n - j), x0 = j * k;
            if (group <= 2) decodedTimesTwo(decoded, blocks, sv, xn, x0, x0 + (group - 1) * k, lanes);
            else decodedTimesFour(decoded, blocks, sv, xn, x0, x0 + k, x0 + 2 * k, x0 + (group - 1) * k, lanes);
            for (int i = 0; i < group; i++) y[at + (j + i) * m] = LaneSums.ofEight(lanes, 8 * i);
        }
    }

    /**
     * One activation row (k values from xOffset) into {@code xn[at ..]} in the kernels' order: in every 32
     * values, chunk i holds in lane L the value 4L + i.
     */
    static void laneOrder(float[] x, int xOffset, int k, float[] xn, int at) {
        for (int quarter = 0; quarter < k / 32; quarter++) {
            int from = xOffset + 32 * quarter, to = at + 32 * quarter;
            for (int i = 0; i < 4; i++) {
                for (int lane = 0; lane < 8; lane++) xn[to + 8 * i + lane] = x[from + 4 * lane + i];
            }
        }
    }

    /**
     * Each quarter's scale vector into {@code sv[64 b + 8 q ..]} (super-block b, quarter q of eight): lanes 0-3
     * the scale of the quarter's first 16 weights, lanes 4-7 of the other 16, each {@code d * scale} as the
     * dequantizer computes it.
     */
    static void scaleVectors(MemorySegment s, long row, int blocks, float[] sv) {
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BLOCK_BYTES;
            float d = TensorFormat.fp16(s, block + 208);
            FloatVector first = scales(s, block + 192).mul(d), second = scales(s, block + 200).mul(d);
            int at = 64 * b;
            first.rearrange(QUARTER_0).intoArray(sv, at);
            first.rearrange(QUARTER_1).intoArray(sv, at + 8);
            first.rearrange(QUARTER_2).intoArray(sv, at + 16);
            first.rearrange(QUARTER_3).intoArray(sv, at + 24);
            second.rearrange(QUARTER_0).intoArray(sv, at + 32);
            second.rearrange(QUARTER_1).intoArray(sv, at + 40);
            second.rearrange(QUARTER_2).intoArray(sv, at + 48);
            second.rearrange(QUARTER_3).intoArray(sv, at + 56);
        }
    }

    /** Eight signed scale bytes at {@code at}, as floats. */
    private static FloatVector scales(MemorySegment s, long at) {
        return (FloatVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, s, at, LE)
                .convertShape(VectorOperators.B2I, I, 0).convert(I2F, 0);
    }

    static final VectorShuffle<Float> QUARTER_0 = quarter(0), QUARTER_1 = quarter(1), QUARTER_2 = quarter(2),
            QUARTER_3 = quarter(3);

    /** Lanes 0-3 from scale 2q of a half's eight, lanes 4-7 from scale 2q + 1. */
    private static VectorShuffle<Float> quarter(int q) {
        return applies() ? VectorShuffle.fromValues(F, 2 * q, 2 * q, 2 * q, 2 * q, 2 * q + 1, 2 * q + 1, 2 * q + 1, 2 * q + 1) : null;
    }

    /**
     * One row against one activation row in lane order, the two accumulators' sum left at {@code lanes[0 .. 8)}.
     * A loop step is a half super-block: its ql bytes 0-31 (qa) and 32-63 (qb) and its 32 qh bytes as ints,
     * quarter q from qa (q even) or qb, low nibbles for q < 2, high ones after, with qh bits 2q, 2q + 1 of each
     * byte as bits 4 and 5.
     */
    private static int row(MemorySegment s, long w0, int blocks, float[] sv, float[] xn, float[] lanes, long aheadBytes) {
        FloatVector a = FloatVector.zero(F), c = a, p;
        int touched = 0;
        for (int half = 0; half < 2 * blocks; half++) {
            long ql = w0 + (long) (half >> 1) * BLOCK_BYTES + 64L * (half & 1);
            long hb = w0 + (long) (half >> 1) * BLOCK_BYTES + 128 + 32L * (half & 1);
            touched += RowPrefetch.touch(s, ql + aheadBytes) + RowPrefetch.touch(s, hb + aheadBytes);
            int o = 128 * half, v = 32 * half;
            IntVector qa = IntVector.fromMemorySegment(I, s, ql, LE), qb = IntVector.fromMemorySegment(I, s, ql + 32, LE);
            IntVector qh = IntVector.fromMemorySegment(I, s, hb, LE);
            p = ((FloatVector) qa.and(0xF).or(qh.lanewise(LSHL, 4).and(0x30)).sub(32).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o));
            p = ((FloatVector) qa.lanewise(LSHR, 8).and(0xF).or(qh.lanewise(LSHR, 4).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 8), p);
            p = ((FloatVector) qa.lanewise(LSHR, 16).and(0xF).or(qh.lanewise(LSHR, 12).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 16), p);
            p = ((FloatVector) qa.lanewise(LSHR, 24).and(0xF).or(qh.lanewise(LSHR, 20).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 24), p);
            a = p.fma(FloatVector.fromArray(F, sv, v), a);
            p = ((FloatVector) qb.and(0xF).or(qh.lanewise(LSHL, 2).and(0x30)).sub(32).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 32));
            p = ((FloatVector) qb.lanewise(LSHR, 8).and(0xF).or(qh.lanewise(LSHR, 6).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 40), p);
            p = ((FloatVector) qb.lanewise(LSHR, 16).and(0xF).or(qh.lanewise(LSHR, 14).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 48), p);
            p = ((FloatVector) qb.lanewise(LSHR, 24).and(0xF).or(qh.lanewise(LSHR, 22).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 56), p);
            c = p.fma(FloatVector.fromArray(F, sv, v + 8), c);
            p = ((FloatVector) qa.lanewise(LSHR, 4).and(0xF).or(qh.and(0x30)).sub(32).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 64));
            p = ((FloatVector) qa.lanewise(LSHR, 12).and(0xF).or(qh.lanewise(LSHR, 8).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 72), p);
            p = ((FloatVector) qa.lanewise(LSHR, 20).and(0xF).or(qh.lanewise(LSHR, 16).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 80), p);
            p = ((FloatVector) qa.lanewise(LSHR, 28).or(qh.lanewise(LSHR, 24).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 88), p);
            a = p.fma(FloatVector.fromArray(F, sv, v + 16), a);
            p = ((FloatVector) qb.lanewise(LSHR, 4).and(0xF).or(qh.lanewise(LSHR, 2).and(0x30)).sub(32).convert(I2F, 0)).mul(FloatVector.fromArray(F, xn, o + 96));
            p = ((FloatVector) qb.lanewise(LSHR, 12).and(0xF).or(qh.lanewise(LSHR, 10).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 104), p);
            p = ((FloatVector) qb.lanewise(LSHR, 20).and(0xF).or(qh.lanewise(LSHR, 18).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 112), p);
            p = ((FloatVector) qb.lanewise(LSHR, 28).or(qh.lanewise(LSHR, 26).and(0x30)).sub(32).convert(I2F, 0)).fma(FloatVector.fromArray(F, xn, o + 120), p);
            c = p.fma(FloatVector.fromArray(F, sv, v + 24), c);
        }
        a.add(c).intoArray(lanes, 0);
        return touched;
    }

    /** One row's weights, {@code q - 32} as floats in lane order, into {@code decoded[0 .. k)}. */
    private static void decode(MemorySegment s, long w0, int blocks, float[] decoded) {
        for (int half = 0; half < 2 * blocks; half++) {
            long ql = w0 + (long) (half >> 1) * BLOCK_BYTES + 64L * (half & 1);
            long hb = w0 + (long) (half >> 1) * BLOCK_BYTES + 128 + 32L * (half & 1);
            int o = 128 * half;
            IntVector qa = IntVector.fromMemorySegment(I, s, ql, LE), qb = IntVector.fromMemorySegment(I, s, ql + 32, LE);
            IntVector qh = IntVector.fromMemorySegment(I, s, hb, LE);
            ((FloatVector) qa.and(0xF).or(qh.lanewise(LSHL, 4).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o);
            ((FloatVector) qa.lanewise(LSHR, 8).and(0xF).or(qh.lanewise(LSHR, 4).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 8);
            ((FloatVector) qa.lanewise(LSHR, 16).and(0xF).or(qh.lanewise(LSHR, 12).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 16);
            ((FloatVector) qa.lanewise(LSHR, 24).and(0xF).or(qh.lanewise(LSHR, 20).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 24);
            ((FloatVector) qb.and(0xF).or(qh.lanewise(LSHL, 2).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 32);
            ((FloatVector) qb.lanewise(LSHR, 8).and(0xF).or(qh.lanewise(LSHR, 6).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 40);
            ((FloatVector) qb.lanewise(LSHR, 16).and(0xF).or(qh.lanewise(LSHR, 14).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 48);
            ((FloatVector) qb.lanewise(LSHR, 24).and(0xF).or(qh.lanewise(LSHR, 22).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 56);
            ((FloatVector) qa.lanewise(LSHR, 4).and(0xF).or(qh.and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 64);
            ((FloatVector) qa.lanewise(LSHR, 12).and(0xF).or(qh.lanewise(LSHR, 8).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 72);
            ((FloatVector) qa.lanewise(LSHR, 20).and(0xF).or(qh.lanewise(LSHR, 16).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 80);
            ((FloatVector) qa.lanewise(LSHR, 28).or(qh.lanewise(LSHR, 24).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 88);
            ((FloatVector) qb.lanewise(LSHR, 4).and(0xF).or(qh.lanewise(LSHR, 2).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 96);
            ((FloatVector) qb.lanewise(LSHR, 12).and(0xF).or(qh.lanewise(LSHR, 10).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 104);
            ((FloatVector) qb.lanewise(LSHR, 20).and(0xF).or(qh.lanewise(LSHR, 18).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 112);
            ((FloatVector) qb.lanewise(LSHR, 28).or(qh.lanewise(LSHR, 26).and(0x30)).sub(32).convert(I2F, 0)).intoArray(decoded, o + 120);
        }
    }

    /**
     * A decoded row against four activation rows (at x0 .. x3 in xn), in {@link #row}'s order for each; the
     * accumulators' sums left at {@code lanes[8 i ..]}. A loop step is two quarters, an even and an odd one.
     */
    static void decodedTimesFour(float[] decoded, int blocks, float[] sv, float[] xn, int x0, int x1, int x2,
                                         int x3, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        FloatVector w, scale, p0, p1, p2, p3;
        for (int pair = 0; pair < 4 * blocks; pair++) {
            int o = 64 * pair, v = 16 * pair;
            w = FloatVector.fromArray(F, decoded, o);
            p0 = w.mul(FloatVector.fromArray(F, xn, x0 + o));
            p1 = w.mul(FloatVector.fromArray(F, xn, x1 + o));
            p2 = w.mul(FloatVector.fromArray(F, xn, x2 + o));
            p3 = w.mul(FloatVector.fromArray(F, xn, x3 + o));
            w = FloatVector.fromArray(F, decoded, o + 8);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 8), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 8), p1);
            p2 = w.fma(FloatVector.fromArray(F, xn, x2 + o + 8), p2);
            p3 = w.fma(FloatVector.fromArray(F, xn, x3 + o + 8), p3);
            w = FloatVector.fromArray(F, decoded, o + 16);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 16), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 16), p1);
            p2 = w.fma(FloatVector.fromArray(F, xn, x2 + o + 16), p2);
            p3 = w.fma(FloatVector.fromArray(F, xn, x3 + o + 16), p3);
            w = FloatVector.fromArray(F, decoded, o + 24);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 24), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 24), p1);
            p2 = w.fma(FloatVector.fromArray(F, xn, x2 + o + 24), p2);
            p3 = w.fma(FloatVector.fromArray(F, xn, x3 + o + 24), p3);
            scale = FloatVector.fromArray(F, sv, v);
            a0 = p0.fma(scale, a0);
            a1 = p1.fma(scale, a1);
            a2 = p2.fma(scale, a2);
            a3 = p3.fma(scale, a3);
            w = FloatVector.fromArray(F, decoded, o + 32);
            p0 = w.mul(FloatVector.fromArray(F, xn, x0 + o + 32));
            p1 = w.mul(FloatVector.fromArray(F, xn, x1 + o + 32));
            p2 = w.mul(FloatVector.fromArray(F, xn, x2 + o + 32));
            p3 = w.mul(FloatVector.fromArray(F, xn, x3 + o + 32));
            w = FloatVector.fromArray(F, decoded, o + 40);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 40), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 40), p1);
            p2 = w.fma(FloatVector.fromArray(F, xn, x2 + o + 40), p2);
            p3 = w.fma(FloatVector.fromArray(F, xn, x3 + o + 40), p3);
            w = FloatVector.fromArray(F, decoded, o + 48);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 48), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 48), p1);
            p2 = w.fma(FloatVector.fromArray(F, xn, x2 + o + 48), p2);
            p3 = w.fma(FloatVector.fromArray(F, xn, x3 + o + 48), p3);
            w = FloatVector.fromArray(F, decoded, o + 56);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 56), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 56), p1);
            p2 = w.fma(FloatVector.fromArray(F, xn, x2 + o + 56), p2);
            p3 = w.fma(FloatVector.fromArray(F, xn, x3 + o + 56), p3);
            scale = FloatVector.fromArray(F, sv, v + 8);
            c0 = p0.fma(scale, c0);
            c1 = p1.fma(scale, c1);
            c2 = p2.fma(scale, c2);
            c3 = p3.fma(scale, c3);
        }
        a0.add(c0).intoArray(lanes, 0);
        a1.add(c1).intoArray(lanes, 8);
        a2.add(c2).intoArray(lanes, 16);
        a3.add(c3).intoArray(lanes, 24);
    }

    /** {@link #decodedTimesFour} for two activation rows (x1 may equal x0), the sums left at {@code lanes[0 ..]} and {@code lanes[8 ..]}. */
    private static void decodedTimesTwo(float[] decoded, int blocks, float[] sv, float[] xn, int x0, int x1, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, c0 = a0, c1 = a0;
        FloatVector w, scale, p0, p1;
        for (int pair = 0; pair < 4 * blocks; pair++) {
            int o = 64 * pair, v = 16 * pair;
            w = FloatVector.fromArray(F, decoded, o);
            p0 = w.mul(FloatVector.fromArray(F, xn, x0 + o));
            p1 = w.mul(FloatVector.fromArray(F, xn, x1 + o));
            w = FloatVector.fromArray(F, decoded, o + 8);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 8), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 8), p1);
            w = FloatVector.fromArray(F, decoded, o + 16);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 16), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 16), p1);
            w = FloatVector.fromArray(F, decoded, o + 24);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 24), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 24), p1);
            scale = FloatVector.fromArray(F, sv, v);
            a0 = p0.fma(scale, a0);
            a1 = p1.fma(scale, a1);
            w = FloatVector.fromArray(F, decoded, o + 32);
            p0 = w.mul(FloatVector.fromArray(F, xn, x0 + o + 32));
            p1 = w.mul(FloatVector.fromArray(F, xn, x1 + o + 32));
            w = FloatVector.fromArray(F, decoded, o + 40);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 40), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 40), p1);
            w = FloatVector.fromArray(F, decoded, o + 48);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 48), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 48), p1);
            w = FloatVector.fromArray(F, decoded, o + 56);
            p0 = w.fma(FloatVector.fromArray(F, xn, x0 + o + 56), p0);
            p1 = w.fma(FloatVector.fromArray(F, xn, x1 + o + 56), p1);
            scale = FloatVector.fromArray(F, sv, v + 8);
            c0 = p0.fma(scale, c0);
            c1 = p1.fma(scale, c1);
        }
        a0.add(c0).intoArray(lanes, 0);
        a1.add(c1).intoArray(lanes, 8);
    }
}
