package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorMask;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.B;
import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.I;
import static dev.pipeinfer.tensor.Lanes.LANES;

/**
 * Q4_K: super-blocks of 256 weights, 144 bytes: {@code d}, {@code dmin} (fp16), 12 bytes holding eight 6-bit
 * (scale, min) pairs, then 128 bytes of nibbles. The 256 weights are 4 groups of 64: group g uses bytes
 * 32g..32g+31, low nibbles for its first 32 weights (sub-block 2g) and high nibbles for the next 32
 * (sub-block 2g+1); w = (d*scale) * q - (dmin*min).
 */
public final class Q4_KFormat extends TensorFormat {
    static final int QK = 256;
    static final int BLOCK_BYTES = 144;

    Q4_KFormat() {
        super(GgmlType.Q4_K);
    }

    /** ggml's get_scale_min_k4: sub-block j's 6-bit scale (result >> 8 is its 6-bit min) from the 12 packed bytes. */
    static int scaleMin(MemorySegment s, long scales, int j) {
        int sc, m;
        if (j < 4) {
            sc = u8(s, scales + j) & 63;
            m = u8(s, scales + j + 4) & 63;
        } else {
            sc = (u8(s, scales + j + 4) & 0xF) | ((u8(s, scales + j - 4) >>> 6) << 4);
            m = (u8(s, scales + j + 4) >>> 4) | ((u8(s, scales + j) >>> 6) << 4);
        }
        return sc | (m << 8);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float d = fp16(src, block);
            float min = fp16(src, block + 2);
            int y = dstOffset + b * QK;
            for (int g = 0; g < 4; g++) {
                int sm1 = scaleMin(src, block + 4, 2 * g), sm2 = scaleMin(src, block + 4, 2 * g + 1);
                float d1 = d * (sm1 & 0xFF), m1 = min * (sm1 >>> 8);
                float d2 = d * (sm2 & 0xFF), m2 = min * (sm2 >>> 8);
                long q = block + 16 + 32L * g;
                for (int l = 0; l < 32; l++) dst[y + 64 * g + l] = d1 * (u8(src, q + l) & 0xF) - m1;
                for (int l = 0; l < 32; l++) dst[y + 64 * g + 32 + l] = d2 * (u8(src, q + l) >>> 4) - m2;
            }
        }
    }

    /**
     * With 16 lanes each 32-weight sub-block is a table lookup: its 16 possible weights (d*scale) * i -
     * dmin*min, computed with the reference's multiply and subtract, indexed by the nibbles (vpermd).
     */
    @Override
    public void decodeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        if (!Lanes.USABLE) {
            dequantizeRow(src, offset, dst, dstOffset, k);
            return;
        }
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            int y = dstOffset + b * QK;
            // the scales go to the last 16 floats of this super-block's output, which only the last group
            // overwrites, after it has read its own: no scratch array needed
            int scales = y + QK - 16;
            subBlockScales(src, block, dst, scales);
            for (int g = 0; g < 4; g++) {
                long q = block + 16 + 32L * g;
                int at = y + 64 * g;
                if (LANES == 16) {
                    IntVector t1 = table(dst[scales + 2 * g], dst[scales + 8 + 2 * g]);
                    IntVector t2 = table(dst[scales + 2 * g + 1], dst[scales + 9 + 2 * g]);
                    IntVector v0 = bytes(src, q), v1 = bytes(src, q + 16);
                    v0.selectFrom(t1).reinterpretAsFloats().intoArray(dst, at);
                    v1.selectFrom(t1).reinterpretAsFloats().intoArray(dst, at + 16);
                    v0.lanewise(VectorOperators.LSHR, 4).selectFrom(t2).reinterpretAsFloats().intoArray(dst, at + 32);
                    v1.lanewise(VectorOperators.LSHR, 4).selectFrom(t2).reinterpretAsFloats().intoArray(dst, at + 48);
                    continue;
                }
                FloatVector d1 = FloatVector.broadcast(F, dst[scales + 2 * g]), m1 = FloatVector.broadcast(F, dst[scales + 8 + 2 * g]);
                FloatVector d2 = FloatVector.broadcast(F, dst[scales + 2 * g + 1]), m2 = FloatVector.broadcast(F, dst[scales + 9 + 2 * g]);
                for (int l = 0; l < 32; l += LANES) {
                    IntVector v = bytes(src, q + l);
                    ((FloatVector) (v.and(0xF)).convert(VectorOperators.I2F, 0)).mul(d1).sub(m1).intoArray(dst, at + l);
                    ((FloatVector) (v.lanewise(VectorOperators.LSHR, 4)).convert(VectorOperators.I2F, 0)).mul(d2).sub(m2).intoArray(dst, at + 32 + l);
                }
            }
        }
    }

    /**
     * Fused n = 1 kernel: on 256-bit vectors {@link FactoredKernels} with {@link Q4_KFactoredKernels}; on
     * 512-bit ones (16 lanes) a row at a time: first the row's sub-block scales (by
     * {@link #subBlockScales}), then {@link #row} over all its super-blocks, each 64-weight group decoded as
     * in {@link #decodeRow} and its four chunks fed into the row's accumulator in order.
     *
     * <p>Shaped for C2: no call inside a vector loop (a call with live vectors, or a vector operation that
     * does not get inlined, boxes the vectors), the vector code in a method of its own, small enough for
     * C2's inlining budget, its accumulator handed back through {@code lanes} (exactly). One {@code row}
     * call per row rather than one per super-block: the call's bounds checks and set-up (about as many
     * instructions as a super-block's vector work) were a quarter of the time in L2. Two rows at a time
     * sharing the activation loads measured slower (5632x2048: 3.8 / 6.4 GB/s on 1 / 2 threads against
     * 4.8 / 9.1 one row at a time; a 1.1B decode 11.7 against 14.5 tokens/s).
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (FactoredKernels.applies()) {
            FactoredKernels.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch, Q4_KFactoredKernels.INSTANCE);
            return;
        }
        if (LANES != 16) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        MemorySegment s = w.data;
        int blocks = w.cols / QK;
        float[] sc = scratch.scales(16 * blocks), lanes = scratch.lanes;
        for (int r = from; r < to; r++) {
            long w0 = w.rowOffset(r);
            for (int b = 0; b < blocks; b++) subBlockScales(s, w0 + (long) b * BLOCK_BYTES, sc, 16 * b);
            row(s, w0, blocks, sc, x, xOffset, lanes);
            finishRows(lanes, y, yOffset + r, 1);
        }
    }

    /** Every super-block of one row (scales of super-block b at sc[16b..16b+16)); the accumulator ends in lanes[0..16). */
    private static void row(MemorySegment s, long w0, int blocks, float[] sc, float[] x, int xOffset, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int b = 0; b < blocks; b++) {
            long b0 = w0 + (long) b * BLOCK_BYTES;
            int at = 16 * b, xi = xOffset + b * QK;
            for (int g = 0; g < 4; g++) {
                int c = at + 2 * g, xg = xi + 64 * g;
                long q = 16 + 32L * g;
                IntVector lo = table(sc[c], sc[c + 8]), hi = table(sc[c + 1], sc[c + 9]);
                IntVector u = bytes(s, b0 + q), v = bytes(s, b0 + q + 16);
                a0 = u.selectFrom(lo).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xg), a0);
                a1 = v.selectFrom(lo).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xg + 16), a1);
                a0 = u.lanewise(VectorOperators.LSHR, 4).selectFrom(hi).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xg + 32), a0);
                a1 = v.lanewise(VectorOperators.LSHR, 4).selectFrom(hi).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xg + 48), a1);
            }
        }
        a0.add(a1).intoArray(lanes, 0);
    }

    /**
     * Batches: on 256-bit vectors {@link FactoredKernels}, every n; on 512-bit ones two to four rows
     * ({@link #twoToFourScaledRows}), each weight row's scales and each chunk's decode done once for all of
     * them, fed into two accumulators (even, odd chunks) per activation row in the n = 1 order.
     */
    @Override
    boolean matmulRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                       KernelScratch scratch) {
        if (FactoredKernels.applies()) {
            if (n < 2) return false;
            FactoredKernels.matmulRows(w, x, xOffset, n, y, yOffset, from, to, scratch, Q4_KFactoredKernels.INSTANCE);
            return true;
        }
        return LANES == 16 && twoToFourScaledRows(w, x, xOffset, n, y, yOffset, from, to, scratch,
                Q4_KFormat::rowScales, Q4_KFormat::rowTimesFour);
    }

    /**
     * {@link #row} against four activation rows (the last repeated when fewer), even + odd accumulator i
     * left in lanes[16 i ..]: summing them here too would make the method too big for C2 to inline the sums, and
     * the four accumulators would be boxed.
     */
    private static void rowTimesFour(MemorySegment s, long w0, int blocks, float[] sc, float[] x, int x0, int x1, int x2,
                                     int x3, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        for (int b = 0; b < blocks; b++) {
            long b0 = w0 + (long) b * BLOCK_BYTES;
            int at = 16 * b, o = b * QK;
            for (int g = 0; g < 4; g++) {
                int c = at + 2 * g, og = o + 64 * g;
                long q = 16 + 32L * g;
                IntVector lo = table(sc[c], sc[c + 8]), hi = table(sc[c + 1], sc[c + 9]);
                IntVector u = bytes(s, b0 + q), v = bytes(s, b0 + q + 16);
                FloatVector w1 = u.selectFrom(lo).reinterpretAsFloats(), w2 = v.selectFrom(lo).reinterpretAsFloats();
                FloatVector w3 = u.lanewise(VectorOperators.LSHR, 4).selectFrom(hi).reinterpretAsFloats();
                FloatVector w4 = v.lanewise(VectorOperators.LSHR, 4).selectFrom(hi).reinterpretAsFloats();
                a0 = w3.fma(FloatVector.fromArray(F, x, x0 + og + 32), w1.fma(FloatVector.fromArray(F, x, x0 + og), a0));
                c0 = w4.fma(FloatVector.fromArray(F, x, x0 + og + 48), w2.fma(FloatVector.fromArray(F, x, x0 + og + 16), c0));
                a1 = w3.fma(FloatVector.fromArray(F, x, x1 + og + 32), w1.fma(FloatVector.fromArray(F, x, x1 + og), a1));
                c1 = w4.fma(FloatVector.fromArray(F, x, x1 + og + 48), w2.fma(FloatVector.fromArray(F, x, x1 + og + 16), c1));
                a2 = w3.fma(FloatVector.fromArray(F, x, x2 + og + 32), w1.fma(FloatVector.fromArray(F, x, x2 + og), a2));
                c2 = w4.fma(FloatVector.fromArray(F, x, x2 + og + 48), w2.fma(FloatVector.fromArray(F, x, x2 + og + 16), c2));
                a3 = w3.fma(FloatVector.fromArray(F, x, x3 + og + 32), w1.fma(FloatVector.fromArray(F, x, x3 + og), a3));
                c3 = w4.fma(FloatVector.fromArray(F, x, x3 + og + 48), w2.fma(FloatVector.fromArray(F, x, x3 + og + 16), c3));
            }
        }
        a0.add(c0).intoArray(lanes, 0);
        a1.add(c1).intoArray(lanes, 16);
        a2.add(c2).intoArray(lanes, 32);
        a3.add(c3).intoArray(lanes, 48);
    }

    private static final FloatVector LEVELS = LANES == 16
            ? FloatVector.fromArray(F, new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 0) : null;

    /** The 16 possible weights scale * i - min of a sub-block, as float bits (vpermd ignores index bits above 4). */
    static IntVector table(float scale, float min) {
        return LEVELS.mul(scale).sub(min).reinterpretAsInts();
    }

    /** {@link #subBlockScales} of every super-block of a row. */
    static void rowScales(MemorySegment s, long row, int blocks, float[] sc) {
        if (LANES == 8) {
            for (int b = 0; b < blocks; b++) subBlockScalesEightLanes(s, row + (long) b * BLOCK_BYTES, sc, 16 * b);
            return;
        }
        for (int b = 0; b < blocks; b++) subBlockScales(s, row + (long) b * BLOCK_BYTES, sc, 16 * b);
    }

    /**
     * The eight sub-block scales d*scale_j into out[at..at+8) and mins dmin*min_j into out[at+8..at+16), the same
     * floats the dequantizer computes. Kept out of the vector loop (a call per super-block) so the kernels
     * stay small enough for C2 to inline all their vector operations. With 16 lanes the unpacking is
     * itself vectorized: lane L (j = L mod 8, a min when L >= 8) gathers its low bits from byte LOW[L] and
     * its top 2 bits from byte HIGH[L] of the 12 packed bytes (see {@link #scaleMin}); with 8, one vector
     * of scales and one of mins.
     */
    static void subBlockScales(MemorySegment s, long block, float[] out, int at) {
        if (LANES == 8) {
            subBlockScalesEightLanes(s, block, out, at);
            return;
        }
        float d = fp16(s, block), min = fp16(s, block + 2);
        if (LANES != 16) {
            for (int j = 0; j < 8; j++) {
                int sm = scaleMin(s, block + 4, j);
                out[at + j] = d * (sm & 0xFF);
                out[at + 8 + j] = min * (sm >>> 8);
            }
            return;
        }
        // bytes 4..19 of the block: the 12 scale bytes (and 4 bytes of qs, unused)
        IntVector b = (IntVector) ByteVector.fromMemorySegment(B, s, block + 4, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
        IntVector low = b.rearrange(LOW).lanewise(VectorOperators.LSHR, LOW_SHIFT).and(LOW_MASK);
        IntVector high = b.rearrange(HIGH).lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4).and(HIGH_MASK);
        FloatVector scale = FloatVector.broadcast(F, d).blend(min, IS_MIN);
        ((FloatVector) low.or(high).convert(VectorOperators.I2F, 0)).mul(scale).intoArray(out, at);
    }

    /**
     * {@link #subBlockScales} on 256-bit vectors, in a method small enough for C2 to inline into a loop over a
     * row's super-blocks ({@link #rowScales}; called once per super-block it took a quarter of Q4_K's n = 1 time).
     * Lanes j of bytes 0-7 and of bytes 4-11 of the 12; lanes 4-7 take the top bits of bytes j-4 (scales) and j
     * (mins), the rest of bytes j+4, as in {@link #scaleMin}.
     */
    static void subBlockScalesEightLanes(MemorySegment s, long block, float[] out, int at) {
        float d = fp16(s, block), min = fp16(s, block + 2);
        IntVector first = bytes(s, block + 4), second = bytes(s, block + 8);
        IntVector scaleHigh = second.and(0xF).or(first.rearrange(FIRST_FOUR_TWICE).lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4));
        IntVector minHigh = second.lanewise(VectorOperators.LSHR, 4).or(first.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4));
        IntVector scales = first.and(63).blend(scaleHigh, UPPER_FOUR), mins = second.and(63).blend(minHigh, UPPER_FOUR);
        ((FloatVector) scales.convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, at);
        ((FloatVector) mins.convert(VectorOperators.I2F, 0)).mul(min).intoArray(out, at + 8);
    }

    // Lane L < 8: scale j = L; lane L >= 8: min j = L - 8. j < 4: 6 bits of byte j (scale) or j+4 (min);
    // j >= 4: low nibble (scale) or high nibble (min) of byte j+4, plus the top 2 bits of byte j-4 (scale) or j (min).
    private static final VectorShuffle<Integer> LOW = shuffle(new int[] {0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11});
    private static final VectorShuffle<Integer> HIGH = shuffle(new int[] {0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 4, 5, 6, 7});
    private static final IntVector LOW_SHIFT = ints(new int[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4});
    private static final IntVector LOW_MASK = ints(new int[] {63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15});
    private static final IntVector HIGH_MASK = ints(new int[] {0, 0, 0, 0, 48, 48, 48, 48, 0, 0, 0, 0, 48, 48, 48, 48});
    private static final VectorMask<Float> IS_MIN = LANES == 16 ? VectorMask.fromLong(F, 0xFF00L) : null;

    private static final VectorShuffle<Integer> FIRST_FOUR_TWICE = LANES == 8 ? VectorShuffle.fromValues(I, 0, 1, 2, 3, 0, 1, 2, 3) : null;
    private static final VectorMask<Integer> UPPER_FOUR = LANES == 8 ? VectorMask.fromLong(I, 0xF0L) : null;

    private static VectorShuffle<Integer> shuffle(int[] lanes) {
        return LANES == 16 ? VectorShuffle.fromArray(I, lanes, 0) : null;
    }

    private static IntVector ints(int[] lanes) {
        return LANES == 16 ? IntVector.fromArray(I, lanes, 0) : null;
    }

    static IntVector bytes(MemorySegment s, long offset) {
        return (IntVector) ByteVector.fromMemorySegment(B, s, offset, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** ggml's quantize_row_q4_K_ref (no importance matrix). */
    @Override
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        checkWholeBlocks(k);
        int[] levels = new int[QK];
        for (int b = 0; b < k / QK; b++) {
            quantizeBlock(src, srcOffset + b * QK, dst, offset + (long) b * BLOCK_BYTES, 15, levels);
            long q = offset + (long) b * BLOCK_BYTES + 16;
            for (int j = 0; j < QK; j += 64) {
                for (int l = 0; l < 32; l++) putU8(dst, q + l, levels[j + l] | (levels[j + l + 32] << 4));
                q += 32;
            }
        }
    }

    /**
     * The part of quantize_row_q{4,5}_K_ref that Q4_K and Q5_K share: per 32-weight sub-block a (scale, min)
     * fit by make_qkx2_quants, both quantized to 6 bits against the block's largest, {@code d}/{@code dmin}
     * and the 12 scale bytes written at the block start, and every weight's level (0..nmax) left in
     * {@code levels}.
     */
    static void quantizeBlock(float[] x, int xo, MemorySegment dst, long block, int nmax, int[] levels) {
        float[] weights = new float[32];
        int[] aux = new int[32];
        float[] scales = new float[8];
        float[] mins = new float[8];
        float maxScale = 0, maxMin = 0;
        boolean q4 = nmax == 15;
        for (int j = 0; j < 8; j++) {
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) sumX2 += x[xo + 32 * j + l] * x[xo + 32 * j + l];
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) weights[l] = avX + Math.abs(x[xo + 32 * j + l]);
            scales[j] = KQuants.makeQkx2Quants(32, nmax, x, xo + 32 * j, weights, levels, 32 * j, mins, j, aux,
                    q4 ? -1.f : -0.5f, 0.1f, q4 ? 20 : 15, false);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
        float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
        int[] packed = new int[12];
        for (int j = 0; j < 8; j++) {
            int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF);
            int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
            if (j < 4) {
                packed[j] = ls;
                packed[j + 4] = lm;
            } else {
                packed[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
                packed[j - 4] |= (ls >>> 4) << 6;
                packed[j] |= (lm >>> 4) << 6;
            }
        }
        putFp16(dst, block, maxScale / 63.f);
        putFp16(dst, block + 2, maxMin / 63.f);
        for (int j = 0; j < 12; j++) putU8(dst, block + 4 + j, packed[j]);
        float d = fp16(dst, block), dmin = fp16(dst, block + 2);
        for (int j = 0; j < 8; j++) {
            int sm = scaleMin(dst, block + 4, j);
            float dj = d * (sm & 0xFF);
            if (dj == 0) continue;
            float dm = dmin * (sm >>> 8);
            for (int i = 0; i < 32; i++) {
                int l = nearestInt((x[xo + 32 * j + i] + dm) / dj);
                levels[32 * j + i] = Math.max(0, Math.min(nmax, l));
            }
        }
    }
}
