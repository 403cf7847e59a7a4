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
 * Q5_1: blocks of 32 weights, 24 bytes: {@code d}, {@code m} (fp16 each), {@code qh} (32 fifth bits,
 * little-endian u32), then 16 bytes of low nibbles as in Q4_0; w = (nibble | bit<<4) * d + m.
 */
public final class Q5_1Format extends TensorFormat {
    static final int QK = 32;
    static final int BLOCK_BYTES = 24;

    Q5_1Format() {
        super(GgmlType.Q5_1);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float d = fp16(src, block);
            float m = fp16(src, block + 2);
            int qh = src.get(LE_INT, block + 4);
            int y = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = u8(src, block + 8 + j);
                int lo = (q & 0x0F) | (((qh >>> j) & 1) << 4);
                int hi = (q >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
                dst[y + j] = lo * d + m;
                dst[y + j + QK / 2] = hi * d + m;
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
            float m = fp16(src, block + 2);
            IntVector qh = IntVector.broadcast(I, src.get(LE_INT, block + 4));
            int y = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j += LANES) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, block + 8 + j, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector hLo = qh.lanewise(VectorOperators.LSHR, lane.add(j)).and(1).lanewise(VectorOperators.LSHL, 4);
                IntVector hHi = qh.lanewise(VectorOperators.LSHR, lane.add(j + 16)).and(1).lanewise(VectorOperators.LSHL, 4);
                ((FloatVector) (q.and(0x0F).or(hLo)).convert(VectorOperators.I2F, 0)).mul(d).add(m).intoArray(dst, y + j);
                ((FloatVector) (q.lanewise(VectorOperators.LSHR, 4).or(hHi)).convert(VectorOperators.I2F, 0)).mul(d).add(m).intoArray(dst, y + j + QK / 2);
            }
        }
    }

    /** Fused n = 1 kernel (16 lanes), one row at a time, as {@link Q5_0Format}'s: w = level * d + m. */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (LANES == 8) {
            oneRowAtATime(w, x, xOffset, y, yOffset, from, to, scratch, Q5_1Format::rowEightLanes);
            return;
        }
        if (LANES != 16) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        oneRowAtATime(w, x, xOffset, y, yOffset, from, to, scratch, Q5_1Format::row);
    }

    /** {@link #row} for 256-bit vectors (AVX2), chunks as in {@link Q5_0Format}'s eight-lane kernel. */
    private static void rowEightLanes(MemorySegment s, long row, int blocks, float[] x, int xOffset, float[] lanes) {
        FloatVector a = FloatVector.zero(F), c = a;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BLOCK_BYTES;
            int xi = xOffset + b * QK;
            float d = fp16(s, block), m = fp16(s, block + 2);
            IntVector h = IntVector.broadcast(I, s.get(LE_INT, block + 4));
            IntVector p = Q4_KFormat.bytes(s, block + 8), t = Q4_KFormat.bytes(s, block + 16);
            a = ((FloatVector) p.and(0x0F).or(h.lanewise(VectorOperators.LSHR, Q5_0Format.BITS_0).and(1).lanewise(VectorOperators.LSHL, 4))
                    .convert(VectorOperators.I2F, 0)).fma(d, m).fma(FloatVector.fromArray(F, x, xi), a);
            c = ((FloatVector) t.and(0x0F).or(h.lanewise(VectorOperators.LSHR, Q5_0Format.BITS_8).and(1).lanewise(VectorOperators.LSHL, 4))
                    .convert(VectorOperators.I2F, 0)).fma(d, m).fma(FloatVector.fromArray(F, x, xi + 8), c);
            a = ((FloatVector) p.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, Q5_0Format.BITS_16).and(1).lanewise(VectorOperators.LSHL, 4))
                    .convert(VectorOperators.I2F, 0)).fma(d, m).fma(FloatVector.fromArray(F, x, xi + 16), a);
            c = ((FloatVector) t.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, Q5_0Format.BITS_24).and(1).lanewise(VectorOperators.LSHL, 4))
                    .convert(VectorOperators.I2F, 0)).fma(d, m).fma(FloatVector.fromArray(F, x, xi + 24), c);
        }
        a.add(c).intoArray(lanes, 0);
    }

    private static void row(MemorySegment s, long row, int blocks, float[] x, int xOffset, float[] lanes) {
        FloatVector a = FloatVector.zero(F), c = a;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BLOCK_BYTES;
            int xi = xOffset + b * QK, qh = s.get(LE_INT, block + 4);
            float d = fp16(s, block), m = fp16(s, block + 2);
            IntVector q = Q4_KFormat.bytes(s, block + 8);
            IntVector lo = q.and(0x0F).or(Q5_0Format.fifthBits(qh, Q5_0Format.LOW_BITS));
            IntVector hi = q.lanewise(VectorOperators.LSHR, 4).or(Q5_0Format.fifthBits(qh, Q5_0Format.HIGH_BITS));
            a = ((FloatVector) lo.convert(VectorOperators.I2F, 0)).mul(d).add(m).fma(FloatVector.fromArray(F, x, xi), a);
            c = ((FloatVector) hi.convert(VectorOperators.I2F, 0)).mul(d).add(m).fma(FloatVector.fromArray(F, x, xi + 16), c);
        }
        a.add(c).intoArray(lanes, 0);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** ggml's quantize_row_q5_1_ref: d = (max-min)/31, m = min. */
    @Override
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            int x = srcOffset + b * QK;
            long block = offset + (long) b * BLOCK_BYTES;
            float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
            for (int j = 0; j < QK; j++) {
                float v = src[x + j];
                if (v < min) min = v;
                if (v > max) max = v;
            }
            float d = (max - min) / 31;
            float id = d != 0 ? 1.0f / d : 0.0f;
            putFp16(dst, block, d);
            putFp16(dst, block + 2, min);
            int qh = 0;
            for (int j = 0; j < QK / 2; j++) {
                int lo = ((int) ((src[x + j] - min) * id + 0.5f)) & 0xFF;
                int hi = ((int) ((src[x + QK / 2 + j] - min) * id + 0.5f)) & 0xFF;
                putU8(dst, block + 8 + j, (lo & 0x0F) | ((hi & 0x0F) << 4));
                qh |= ((lo & 0x10) >>> 4) << j;
                qh |= ((hi & 0x10) >>> 4) << (j + QK / 2);
            }
            dst.set(LE_INT, block + 4, qh);
        }
    }
}
