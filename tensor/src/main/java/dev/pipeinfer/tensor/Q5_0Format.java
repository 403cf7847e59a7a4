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
 * Q5_0: blocks of 32 weights, 22 bytes: {@code d} (fp16), {@code qh} (32 fifth bits, little-endian u32, bit j
 * for weight j), then 16 bytes of low nibbles as in Q4_0; w = ((nibble | bit<<4) - 16) * d.
 */
public final class Q5_0Format extends TensorFormat {
    static final int QK = 32;
    static final int BLOCK_BYTES = 22;

    Q5_0Format() {
        super(GgmlType.Q5_0);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float d = fp16(src, block);
            int qh = src.get(LE_INT, block + 2);
            int y = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = u8(src, block + 6 + j);
                int lo = (q & 0x0F) | (((qh >>> j) & 1) << 4);
                int hi = (q >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
                dst[y + j] = (lo - 16) * d;
                dst[y + j + QK / 2] = (hi - 16) * d;
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
        IntVector lane = IntVector.zero(I).addIndex(1);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float d = fp16(src, block);
            IntVector qh = IntVector.broadcast(I, src.get(LE_INT, block + 2));
            int y = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j += LANES) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, block + 6 + j, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector hLo = qh.lanewise(VectorOperators.LSHR, lane.add(j)).and(1).lanewise(VectorOperators.LSHL, 4);
                IntVector hHi = qh.lanewise(VectorOperators.LSHR, lane.add(j + 16)).and(1).lanewise(VectorOperators.LSHL, 4);
                ((FloatVector) (q.and(0x0F).or(hLo).sub(16)).convert(VectorOperators.I2F, 0)).mul(d).intoArray(dst, y + j);
                ((FloatVector) (q.lanewise(VectorOperators.LSHR, 4).or(hHi).sub(16)).convert(VectorOperators.I2F, 0)).mul(d).intoArray(dst, y + j + QK / 2);
            }
        }
    }

    /** Lane i: i (for the low halves' fifth bits, bits 0-15 of qh), resp. i + 16 (the high halves'). */
    static final IntVector LOW_BITS = LANES == 16 ? IntVector.zero(I).addIndex(1) : null;
    static final IntVector HIGH_BITS = LANES == 16 ? LOW_BITS.add(16) : null;
    /** With 8 lanes: the shifts that bring the fifth bits of weights 0-7, 8-15, 16-23 and 24-31 to bit 0. */
    static final IntVector BITS_0 = LANES == 8 ? IntVector.zero(I).addIndex(1) : null;
    static final IntVector BITS_8 = LANES == 8 ? BITS_0.add(8) : null;
    static final IntVector BITS_16 = LANES == 8 ? BITS_0.add(16) : null;
    static final IntVector BITS_24 = LANES == 8 ? BITS_0.add(24) : null;

    /** The block's 16 fifth bits of its first (resp. second) 16 weights, as 0 or 16 per lane. */
    static IntVector fifthBits(int qh, IntVector bits) {
        return IntVector.broadcast(I, qh).lanewise(VectorOperators.LSHR, bits).and(1).lanewise(VectorOperators.LSHL, 4);
    }

    /**
     * Fused n = 1 kernel (16 lanes), one row at a time: each block decoded as in {@link #decodeRow} (the
     * same integer levels, conversion and multiply) and its two chunks fed straight into the row's
     * accumulator in the order of {@link Dot}, without the decoded tile in between.
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (LANES == 8) {
            oneRowAtATime(w, x, xOffset, y, yOffset, from, to, scratch, Q5_0Format::rowEightLanes);
            return;
        }
        if (LANES != 16) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        oneRowAtATime(w, x, xOffset, y, yOffset, from, to, scratch, Q5_0Format::row);
    }

    /**
     * {@link #row} for 256-bit vectors (AVX2): chunks are the low nibbles of bytes 0-7 and 8-15 (weights 0-15),
     * then their high nibbles (16-31), each with its fifth bit shifted out of qh in place (a helper returning
     * the bits as a vector would be boxed where C2 does not inline it).
     */
    private static void rowEightLanes(MemorySegment s, long row, int blocks, float[] x, int xOffset, float[] lanes) {
        FloatVector a = FloatVector.zero(F), c = a;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BLOCK_BYTES;
            int xi = xOffset + b * QK;
            float d = fp16(s, block);
            IntVector h = IntVector.broadcast(I, s.get(LE_INT, block + 2));
            IntVector p = Q4_KFormat.bytes(s, block + 6), t = Q4_KFormat.bytes(s, block + 14);
            a = ((FloatVector) p.and(0x0F).or(h.lanewise(VectorOperators.LSHR, BITS_0).and(1).lanewise(VectorOperators.LSHL, 4))
                    .sub(16).convert(VectorOperators.I2F, 0)).mul(d).fma(FloatVector.fromArray(F, x, xi), a);
            c = ((FloatVector) t.and(0x0F).or(h.lanewise(VectorOperators.LSHR, BITS_8).and(1).lanewise(VectorOperators.LSHL, 4))
                    .sub(16).convert(VectorOperators.I2F, 0)).mul(d).fma(FloatVector.fromArray(F, x, xi + 8), c);
            a = ((FloatVector) p.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, BITS_16).and(1).lanewise(VectorOperators.LSHL, 4))
                    .sub(16).convert(VectorOperators.I2F, 0)).mul(d).fma(FloatVector.fromArray(F, x, xi + 16), a);
            c = ((FloatVector) t.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, BITS_24).and(1).lanewise(VectorOperators.LSHL, 4))
                    .sub(16).convert(VectorOperators.I2F, 0)).mul(d).fma(FloatVector.fromArray(F, x, xi + 24), c);
        }
        a.add(c).intoArray(lanes, 0);
    }

    private static void row(MemorySegment s, long row, int blocks, float[] x, int xOffset, float[] lanes) {
        FloatVector a = FloatVector.zero(F), c = a;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BLOCK_BYTES;
            int xi = xOffset + b * QK, qh = s.get(LE_INT, block + 2);
            float d = fp16(s, block);
            IntVector q = Q4_KFormat.bytes(s, block + 6);
            IntVector lo = q.and(0x0F).or(fifthBits(qh, LOW_BITS)).sub(16);
            IntVector hi = q.lanewise(VectorOperators.LSHR, 4).or(fifthBits(qh, HIGH_BITS)).sub(16);
            a = ((FloatVector) lo.convert(VectorOperators.I2F, 0)).mul(d).fma(FloatVector.fromArray(F, x, xi), a);
            c = ((FloatVector) hi.convert(VectorOperators.I2F, 0)).mul(d).fma(FloatVector.fromArray(F, x, xi + 16), c);
        }
        a.add(c).intoArray(lanes, 0);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** ggml's quantize_row_q5_0_ref: d = -max/16 where max is the value of largest magnitude. */
    @Override
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            int x = srcOffset + b * QK;
            long block = offset + (long) b * BLOCK_BYTES;
            float amax = 0, max = 0;
            for (int j = 0; j < QK; j++) {
                float v = src[x + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -16;
            float id = d != 0 ? 1.0f / d : 0.0f;
            putFp16(dst, block, d);
            int qh = 0;
            for (int j = 0; j < QK / 2; j++) {
                int lo = Math.min(31, (byte) (int) (src[x + j] * id + 16.5f));
                int hi = Math.min(31, (byte) (int) (src[x + QK / 2 + j] * id + 16.5f));
                putU8(dst, block + 6 + j, (lo & 0x0F) | ((hi & 0x0F) << 4));
                qh |= ((lo & 0x10) >>> 4) << j;
                qh |= ((hi & 0x10) >>> 4) << (j + QK / 2);
            }
            dst.set(LE_INT, block + 2, qh);
        }
    }
}
