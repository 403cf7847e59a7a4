package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.B;
import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.I;
import static dev.pipeinfer.tensor.Lanes.LANES;

/**
 * Q5_K: super-blocks of 256 weights, 176 bytes: {@code d}, {@code dmin} (fp16), 12 scale bytes as in Q4_K,
 * 32 bytes {@code qh} of fifth bits, then 128 bytes of low nibbles laid out as in Q4_K. Group g (64 weights)
 * takes its fifth bits from bit 2g (first 32) and bit 2g+1 (next 32) of qh[l];
 * w = (d*scale) * (nibble + 16*bit) - (dmin*min).
 */
public final class Q5_KFormat extends TensorFormat {
    static final int QK = 256;
    static final int BLOCK_BYTES = 176;

    Q5_KFormat() {
        super(GgmlType.Q5_K);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float d = fp16(src, block);
            float min = fp16(src, block + 2);
            long qh = block + 16;
            int y = dstOffset + b * QK;
            for (int g = 0; g < 4; g++) {
                int sm1 = Q4_KFormat.scaleMin(src, block + 4, 2 * g), sm2 = Q4_KFormat.scaleMin(src, block + 4, 2 * g + 1);
                float d1 = d * (sm1 & 0xFF), m1 = min * (sm1 >>> 8);
                float d2 = d * (sm2 & 0xFF), m2 = min * (sm2 >>> 8);
                int u1 = 1 << (2 * g), u2 = 2 << (2 * g);
                long ql = block + 48 + 32L * g;
                for (int l = 0; l < 32; l++) {
                    dst[y + 64 * g + l] = d1 * ((u8(src, ql + l) & 0xF) + ((u8(src, qh + l) & u1) != 0 ? 16 : 0)) - m1;
                }
                for (int l = 0; l < 32; l++) {
                    dst[y + 64 * g + 32 + l] = d2 * ((u8(src, ql + l) >>> 4) + ((u8(src, qh + l) & u2) != 0 ? 16 : 0)) - m2;
                }
            }
        }
    }

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
            Q4_KFormat.subBlockScales(src, block, dst, scales);
            for (int g = 0; g < 4; g++) {
                FloatVector d1 = FloatVector.broadcast(F, dst[scales + 2 * g]), m1 = FloatVector.broadcast(F, dst[scales + 8 + 2 * g]);
                FloatVector d2 = FloatVector.broadcast(F, dst[scales + 2 * g + 1]), m2 = FloatVector.broadcast(F, dst[scales + 9 + 2 * g]);
                long ql = block + 48 + 32L * g;
                for (int l = 0; l < 32; l += LANES) {
                    IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, ql + l, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector h = (IntVector) ByteVector.fromMemorySegment(B, src, block + 16 + l, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector h1 = h.lanewise(VectorOperators.LSHR, 2 * g).and(1).lanewise(VectorOperators.LSHL, 4);
                    IntVector h2 = h.lanewise(VectorOperators.LSHR, 2 * g + 1).and(1).lanewise(VectorOperators.LSHL, 4);
                    ((FloatVector) (q.and(0xF).or(h1)).convert(VectorOperators.I2F, 0)).mul(d1).sub(m1).intoArray(dst, y + 64 * g + l);
                    ((FloatVector) (q.lanewise(VectorOperators.LSHR, 4).or(h2)).convert(VectorOperators.I2F, 0)).mul(d2).sub(m2).intoArray(dst, y + 64 * g + 32 + l);
                }
            }
        }
    }

    /**
     * Fused n = 1 kernel: on 256-bit vectors {@link FactoredKernels} with {@link Q5_KFactoredKernels}; on
     * 512-bit ones a row at a time, in {@link Dot}'s order: first the row's sub-block scales and mins (by
     * {@link Q4_KFormat#subBlockScales}), then {@link #row}. One accumulator chain per row is enough: decoding,
     * not the FMA latency, is the limit. All vector code is written out in {@link #row} (a helper taking
     * vectors may be left out of line by C2, which boxes them).
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (FactoredKernels.applies()) {
            FactoredKernels.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch, Q5_KFactoredKernels.INSTANCE);
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
            long base = w.rowOffset(r);
            rowScales(s, base, blocks, sc);
            row(s, base, blocks, sc, x, xOffset, lanes);
            finishRows(lanes, y, yOffset + r, 1);
        }
    }

    /**
     * One row's dot product, its accumulator left in lanes[0..16). Group g of a super-block covers weights
     * 64g..64g+64: chunks 0 and 1 are the low nibbles of its 32 bytes with fifth bit 2g of qh, chunks 2
     * and 3 the high nibbles with bit 2g+1, scaled as in {@link #decodeRow}.
     */
    private static void row(MemorySegment s, long base, int blocks, float[] sc, float[] x, int xOffset, float[] lanes) {
        FloatVector a = FloatVector.zero(F), c = a;
        for (int b = 0; b < blocks; b++) {
            long block = base + (long) b * BLOCK_BYTES;
            IntVector h0 = (IntVector) ByteVector.fromMemorySegment(B, s, block + 16, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0), h1 = (IntVector) ByteVector.fromMemorySegment(B, s, block + 32, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            for (int g = 0; g < 4; g++) {
                int at = 16 * b + 2 * g, xi = xOffset + b * QK + 64 * g;
                float d1 = sc[at], m1 = sc[at + 8], d2 = sc[at + 1], m2 = sc[at + 9];
                long ql = block + 48 + 32L * g;
                IntVector v0 = (IntVector) ByteVector.fromMemorySegment(B, s, ql, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0), v1 = (IntVector) ByteVector.fromMemorySegment(B, s, ql + 16, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                a = ((FloatVector) v0.and(0xF).or(h0.lanewise(VectorOperators.LSHR, 2 * g).and(1).lanewise(VectorOperators.LSHL, 4))
                        .convert(VectorOperators.I2F, 0)).mul(d1).sub(m1).fma(FloatVector.fromArray(F, x, xi), a);
                c = ((FloatVector) v1.and(0xF).or(h1.lanewise(VectorOperators.LSHR, 2 * g).and(1).lanewise(VectorOperators.LSHL, 4))
                        .convert(VectorOperators.I2F, 0)).mul(d1).sub(m1).fma(FloatVector.fromArray(F, x, xi + 16), c);
                a = ((FloatVector) v0.lanewise(VectorOperators.LSHR, 4).or(h0.lanewise(VectorOperators.LSHR, 2 * g + 1).and(1).lanewise(VectorOperators.LSHL, 4))
                        .convert(VectorOperators.I2F, 0)).mul(d2).sub(m2).fma(FloatVector.fromArray(F, x, xi + 32), a);
                c = ((FloatVector) v1.lanewise(VectorOperators.LSHR, 4).or(h1.lanewise(VectorOperators.LSHR, 2 * g + 1).and(1).lanewise(VectorOperators.LSHL, 4))
                        .convert(VectorOperators.I2F, 0)).mul(d2).sub(m2).fma(FloatVector.fromArray(F, x, xi + 48), c);
            }
        }
        a.add(c).intoArray(lanes, 0);
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
            FactoredKernels.matmulRows(w, x, xOffset, n, y, yOffset, from, to, scratch, Q5_KFactoredKernels.INSTANCE);
            return true;
        }
        return LANES == 16 && twoToFourScaledRows(w, x, xOffset, n, y, yOffset, from, to, scratch,
                Q5_KFormat::rowScales, Q5_KFormat::rowTimesFour);
    }

    /**
     * {@link Q4_KFormat#subBlockScales} (the same scale layout) of every super-block of a row, on 256-bit
     * vectors inlined into the loop as {@link Q4_KFormat#rowScales} does.
     */
    static void rowScales(MemorySegment s, long row, int blocks, float[] sc) {
        if (LANES == 8) {
            for (int b = 0; b < blocks; b++) Q4_KFormat.subBlockScalesEightLanes(s, row + (long) b * BLOCK_BYTES, sc, 16 * b);
            return;
        }
        for (int b = 0; b < blocks; b++) Q4_KFormat.subBlockScales(s, row + (long) b * BLOCK_BYTES, sc, 16 * b);
    }

    /** {@link #row} against four activation rows (the last repeated when fewer), accumulator i left in lanes[16 i ..]. */
    private static void rowTimesFour(MemorySegment s, long base, int blocks, float[] sc, float[] x, int x0, int x1, int x2,
                                     int x3, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        for (int b = 0; b < blocks; b++) {
            long block = base + (long) b * BLOCK_BYTES;
            IntVector h0 = (IntVector) ByteVector.fromMemorySegment(B, s, block + 16, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0), h1 = (IntVector) ByteVector.fromMemorySegment(B, s, block + 32, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            for (int g = 0; g < 4; g++) {
                int at = 16 * b + 2 * g, o = b * QK + 64 * g;
                float d1 = sc[at], m1 = sc[at + 8], d2 = sc[at + 1], m2 = sc[at + 9];
                long ql = block + 48 + 32L * g;
                IntVector v0 = (IntVector) ByteVector.fromMemorySegment(B, s, ql, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0), v1 = (IntVector) ByteVector.fromMemorySegment(B, s, ql + 16, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector w;
                w = ((FloatVector) v0.and(0xF).or(h0.lanewise(VectorOperators.LSHR, 2 * g).and(1).lanewise(VectorOperators.LSHL, 4))
                        .convert(VectorOperators.I2F, 0)).mul(d1).sub(m1);
                a0 = w.fma(FloatVector.fromArray(F, x, x0 + o), a0);
                a1 = w.fma(FloatVector.fromArray(F, x, x1 + o), a1);
                a2 = w.fma(FloatVector.fromArray(F, x, x2 + o), a2);
                a3 = w.fma(FloatVector.fromArray(F, x, x3 + o), a3);
                w = ((FloatVector) v1.and(0xF).or(h1.lanewise(VectorOperators.LSHR, 2 * g).and(1).lanewise(VectorOperators.LSHL, 4))
                        .convert(VectorOperators.I2F, 0)).mul(d1).sub(m1);
                c0 = w.fma(FloatVector.fromArray(F, x, x0 + o + 16), c0);
                c1 = w.fma(FloatVector.fromArray(F, x, x1 + o + 16), c1);
                c2 = w.fma(FloatVector.fromArray(F, x, x2 + o + 16), c2);
                c3 = w.fma(FloatVector.fromArray(F, x, x3 + o + 16), c3);
                w = ((FloatVector) v0.lanewise(VectorOperators.LSHR, 4).or(h0.lanewise(VectorOperators.LSHR, 2 * g + 1).and(1).lanewise(VectorOperators.LSHL, 4))
                        .convert(VectorOperators.I2F, 0)).mul(d2).sub(m2);
                a0 = w.fma(FloatVector.fromArray(F, x, x0 + o + 32), a0);
                a1 = w.fma(FloatVector.fromArray(F, x, x1 + o + 32), a1);
                a2 = w.fma(FloatVector.fromArray(F, x, x2 + o + 32), a2);
                a3 = w.fma(FloatVector.fromArray(F, x, x3 + o + 32), a3);
                w = ((FloatVector) v1.lanewise(VectorOperators.LSHR, 4).or(h1.lanewise(VectorOperators.LSHR, 2 * g + 1).and(1).lanewise(VectorOperators.LSHL, 4))
                        .convert(VectorOperators.I2F, 0)).mul(d2).sub(m2);
                c0 = w.fma(FloatVector.fromArray(F, x, x0 + o + 48), c0);
                c1 = w.fma(FloatVector.fromArray(F, x, x1 + o + 48), c1);
                c2 = w.fma(FloatVector.fromArray(F, x, x2 + o + 48), c2);
                c3 = w.fma(FloatVector.fromArray(F, x, x3 + o + 48), c3);
            }
        }
        a0.add(c0).intoArray(lanes, 0);
        a1.add(c1).intoArray(lanes, 16);
        a2.add(c2).intoArray(lanes, 32);
        a3.add(c3).intoArray(lanes, 48);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** ggml's quantize_row_q5_K_ref (no importance matrix). */
    @Override
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        checkWholeBlocks(k);
        int[] levels = new int[QK];
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            Q4_KFormat.quantizeBlock(src, srcOffset + b * QK, dst, block, 31, levels);
            int[] qh = new int[32];
            int m1 = 1, m2 = 2;
            long ql = block + 48;
            for (int n = 0; n < QK; n += 64) {
                for (int j = 0; j < 32; j++) {
                    int l1 = levels[n + j], l2 = levels[n + j + 32];
                    if (l1 > 15) {
                        l1 -= 16;
                        qh[j] |= m1;
                    }
                    if (l2 > 15) {
                        l2 -= 16;
                        qh[j] |= m2;
                    }
                    putU8(dst, ql + j, l1 | (l2 << 4));
                }
                m1 <<= 2;
                m2 <<= 2;
                ql += 32;
            }
            for (int j = 0; j < 32; j++) putU8(dst, block + 16 + j, qh[j]);
        }
    }
}
