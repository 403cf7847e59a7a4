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
 * Q2_K: super-blocks of 256 weights, 84 bytes: 16 scale bytes (low nibble scale, high nibble min, one pair
 * per 16 weights), 64 bytes of 2-bit levels, then {@code d}, {@code dmin} (fp16). Each half (128 weights)
 * uses 32 level bytes; its weights 32s..32s+31 come from bits 2s..2s+1 of those bytes (16 weights per scale);
 * w = (d*scale) * q - (dmin*min).
 */
public final class Q2_KFormat extends TensorFormat {
    static final int QK = 256;
    static final int BLOCK_BYTES = 84;

    Q2_KFormat() {
        super(GgmlType.Q2_K);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float d = fp16(src, block + 80);
            float min = fp16(src, block + 82);
            int y = dstOffset + b * QK;
            int is = 0;
            for (int half = 0; half < 2; half++) {
                long q = block + 16 + 32L * half;
                for (int shift = 0; shift < 8; shift += 2) {
                    for (int part = 0; part < 2; part++) {
                        int sc = u8(src, block + is++);
                        float dl = d * (sc & 0xF), ml = min * (sc >>> 4);
                        for (int l = 0; l < 16; l++) dst[y++] = dl * ((u8(src, q + 16 * part + l) >>> shift) & 3) - ml;
                    }
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
            float d = fp16(src, block + 80);
            float min = fp16(src, block + 82);
            int y = dstOffset + b * QK;
            int is = 0;
            for (int half = 0; half < 2; half++) {
                long q = block + 16 + 32L * half;
                for (int shift = 0; shift < 8; shift += 2) {
                    for (int part = 0; part < 2; part++) {
                        int sc = u8(src, block + is++);
                        float dl = d * (sc & 0xF), ml = min * (sc >>> 4);
                        for (int l = 0; l < 16; l += LANES) {
                            IntVector v = (IntVector) ByteVector.fromMemorySegment(B, src, q + 16 * part + l, ByteOrder.LITTLE_ENDIAN)
                                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                            ((FloatVector) (v.lanewise(VectorOperators.LSHR, shift).and(3)).convert(VectorOperators.I2F, 0)).mul(dl).sub(ml).intoArray(dst, y + l);
                        }
                        y += 16;
                    }
                }
            }
        }
    }

    /**
     * Fused n = 1 kernel (16 lanes), two rows at a time, shaped like {@link Q4_KFormat}'s: first every
     * sub-block scale and min of both rows, then all super-blocks in one call. A 16-weight sub-block is
     * exactly one chunk: its four possible weights (d*scale) * q - dmin*min, computed with the reference's
     * multiply and subtract, are a table indexed by the 2-bit levels (vpermd), so the chunk is fed to its
     * FMA in the order of {@link Dot} with the bits of {@link #decodeRow}.
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (LANES == 8) {
            oneRowAtATimeEightLanes(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        if (LANES != 16) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        MemorySegment s = w.data;
        int blocks = w.cols / QK;
        float[] sc = scratch.scales(64 * blocks), lanes = scratch.lanes;
        for (int r0 = from; r0 < to; r0 += 2) {
            int rows = Math.min(2, to - r0);
            long w0 = w.rowOffset(r0), w1 = w.rowOffset(r0 + rows - 1);
            for (int b = 0; b < blocks; b++) {
                subBlockScales(s, w0 + (long) b * BLOCK_BYTES, sc, 64 * b);
                subBlockScales(s, w1 + (long) b * BLOCK_BYTES, sc, 64 * b + 32);
            }
            rowPair(s, w0, w1, blocks, sc, x, xOffset, lanes);
            finishRows(lanes, y, yOffset + r0, rows);
        }
    }

    /**
     * Every super-block of two rows (scales of super-block b at sc[64b..64b+16), mins at sc[64b+16..64b+32),
     * then the second row's); the accumulators end in lanes[0..32). Sub-block j of a half is chunk j: half h,
     * shift 2i, part p is sub-block 8h + 2i + p.
     */
    private static void rowPair(MemorySegment s, long w0, long w1, int blocks, float[] sc, float[] x, int xOffset,
                                float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, c0 = a0, c1 = a0;
        for (int b = 0; b < blocks; b++) {
            long b0 = w0 + (long) b * BLOCK_BYTES, b1 = w1 + (long) b * BLOCK_BYTES;
            int at = 64 * b, xi = xOffset + b * QK;
            for (int half = 0; half < 2; half++) {
                long q = 16 + 32L * half;
                IntVector u0 = Q4_KFormat.bytes(s, b0 + q), v0 = Q4_KFormat.bytes(s, b0 + q + 16);
                IntVector u1 = Q4_KFormat.bytes(s, b1 + q), v1 = Q4_KFormat.bytes(s, b1 + q + 16);
                for (int j = 8 * half; j < 8 * half + 8; j += 2) { // each step takes the next two bits of every byte
                    int c = at + j;
                    FloatVector xv = FloatVector.fromArray(F, x, xi + 16 * j);
                    a0 = u0.and(3).selectFrom(Q4_KFormat.table(sc[c], sc[c + 16])).reinterpretAsFloats().fma(xv, a0);
                    a1 = u1.and(3).selectFrom(Q4_KFormat.table(sc[c + 32], sc[c + 48])).reinterpretAsFloats().fma(xv, a1);
                    xv = FloatVector.fromArray(F, x, xi + 16 * j + 16);
                    c0 = v0.and(3).selectFrom(Q4_KFormat.table(sc[c + 1], sc[c + 17])).reinterpretAsFloats().fma(xv, c0);
                    c1 = v1.and(3).selectFrom(Q4_KFormat.table(sc[c + 33], sc[c + 49])).reinterpretAsFloats().fma(xv, c1);
                    u0 = u0.lanewise(VectorOperators.LSHR, 2);
                    v0 = v0.lanewise(VectorOperators.LSHR, 2);
                    u1 = u1.lanewise(VectorOperators.LSHR, 2);
                    v1 = v1.lanewise(VectorOperators.LSHR, 2);
                }
            }
        }
        a0.add(c0).intoArray(lanes, 0);
        a1.add(c1).intoArray(lanes, 16);
    }

    /**
     * n = 1 on 256-bit vectors (AVX2), a row at a time: every sub-block scale and min of the row first, then
     * {@link #rowEightLanes}. A 16-weight sub-block is two chunks of eight, its first half into the even
     * accumulator and its second into the odd one.
     */
    private void oneRowAtATimeEightLanes(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to,
                                         KernelScratch scratch) {
        MemorySegment s = w.data;
        int blocks = w.cols / QK;
        float[] sc = scratch.scales(32 * blocks), lanes = scratch.lanes;
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            for (int b = 0; b < blocks; b++) subBlockScales(s, row + (long) b * BLOCK_BYTES, sc, 32 * b);
            rowEightLanes(s, row, blocks, sc, x, xOffset, lanes);
            finishRows(lanes, y, yOffset + r, 1);
        }
    }

    /**
     * One row, its accumulator left in lanes[0..8): per half, four pieces of eight level bytes converted
     * once (pieces 0, 1 are part 0 of every shift, pieces 2, 3 part 1), then the eight sub-blocks in order,
     * each taking the next two bits of its pieces.
     */
    private static void rowEightLanes(MemorySegment s, long row, int blocks, float[] sc, float[] x, int xOffset,
                                      float[] lanes) {
        FloatVector even = FloatVector.zero(F), odd = even;
        for (int part = 0; part < 2 * blocks; part++) {
            int b = part >> 1, half = part & 1;
            long q = row + (long) b * BLOCK_BYTES + 16 + 32L * half;
            int c = 32 * b + 8 * half, xi = xOffset + b * QK + 128 * half;
            IntVector p0 = Q4_KFormat.bytes(s, q), p1 = Q4_KFormat.bytes(s, q + 8);
            IntVector p2 = Q4_KFormat.bytes(s, q + 16), p3 = Q4_KFormat.bytes(s, q + 24);
            even = ((FloatVector) p0.and(3).convert(VectorOperators.I2F, 0)).fma(sc[c], -sc[c + 16])
                    .fma(FloatVector.fromArray(F, x, xi), even);
            odd = ((FloatVector) p1.and(3).convert(VectorOperators.I2F, 0)).fma(sc[c], -sc[c + 16])
                    .fma(FloatVector.fromArray(F, x, xi + 8), odd);
            even = ((FloatVector) p2.and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 1], -sc[c + 17])
                    .fma(FloatVector.fromArray(F, x, xi + 16), even);
            odd = ((FloatVector) p3.and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 1], -sc[c + 17])
                    .fma(FloatVector.fromArray(F, x, xi + 24), odd);
            even = ((FloatVector) p0.lanewise(VectorOperators.LSHR, 2).and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 2], -sc[c + 18])
                    .fma(FloatVector.fromArray(F, x, xi + 32), even);
            odd = ((FloatVector) p1.lanewise(VectorOperators.LSHR, 2).and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 2], -sc[c + 18])
                    .fma(FloatVector.fromArray(F, x, xi + 40), odd);
            even = ((FloatVector) p2.lanewise(VectorOperators.LSHR, 2).and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 3], -sc[c + 19])
                    .fma(FloatVector.fromArray(F, x, xi + 48), even);
            odd = ((FloatVector) p3.lanewise(VectorOperators.LSHR, 2).and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 3], -sc[c + 19])
                    .fma(FloatVector.fromArray(F, x, xi + 56), odd);
            even = ((FloatVector) p0.lanewise(VectorOperators.LSHR, 4).and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 4], -sc[c + 20])
                    .fma(FloatVector.fromArray(F, x, xi + 64), even);
            odd = ((FloatVector) p1.lanewise(VectorOperators.LSHR, 4).and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 4], -sc[c + 20])
                    .fma(FloatVector.fromArray(F, x, xi + 72), odd);
            even = ((FloatVector) p2.lanewise(VectorOperators.LSHR, 4).and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 5], -sc[c + 21])
                    .fma(FloatVector.fromArray(F, x, xi + 80), even);
            odd = ((FloatVector) p3.lanewise(VectorOperators.LSHR, 4).and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 5], -sc[c + 21])
                    .fma(FloatVector.fromArray(F, x, xi + 88), odd);
            even = ((FloatVector) p0.lanewise(VectorOperators.LSHR, 6).and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 6], -sc[c + 22])
                    .fma(FloatVector.fromArray(F, x, xi + 96), even);
            odd = ((FloatVector) p1.lanewise(VectorOperators.LSHR, 6).and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 6], -sc[c + 22])
                    .fma(FloatVector.fromArray(F, x, xi + 104), odd);
            even = ((FloatVector) p2.lanewise(VectorOperators.LSHR, 6).and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 7], -sc[c + 23])
                    .fma(FloatVector.fromArray(F, x, xi + 112), even);
            odd = ((FloatVector) p3.lanewise(VectorOperators.LSHR, 6).and(3).convert(VectorOperators.I2F, 0)).fma(sc[c + 7], -sc[c + 23])
                    .fma(FloatVector.fromArray(F, x, xi + 120), odd);
        }
        even.add(odd).intoArray(lanes, 0);
    }

    /** The 16 sub-block scales d*scale into out[at..at+16) and mins dmin*min into out[at+16..at+32), as the dequantizer computes them. */
    static void subBlockScales(MemorySegment s, long block, float[] out, int at) {
        float d = fp16(s, block + 80), min = fp16(s, block + 82);
        if (LANES == 8) {
            IntVector first = Q4_KFormat.bytes(s, block), second = Q4_KFormat.bytes(s, block + 8);
            ((FloatVector) first.and(0xF).convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, at);
            ((FloatVector) second.and(0xF).convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, at + 8);
            ((FloatVector) first.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).mul(min).intoArray(out, at + 16);
            ((FloatVector) second.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).mul(min).intoArray(out, at + 24);
            return;
        }
        IntVector packed = Q4_KFormat.bytes(s, block);
        ((FloatVector) packed.and(0xF).convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, at);
        ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).mul(min).intoArray(out, at + 16);
    }
}
