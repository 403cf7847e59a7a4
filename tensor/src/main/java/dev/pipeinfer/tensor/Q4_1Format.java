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
 * Q4_1: blocks of 32 weights, 20 bytes: {@code d}, {@code m} (fp16 each), then 16 bytes of nibbles laid out
 * as in Q4_0 (byte j: weight j low, weight j+16 high); w = nibble * d + m.
 */
public final class Q4_1Format extends TensorFormat {
    static final int QK = 32;
    static final int BLOCK_BYTES = 20;

    Q4_1Format() {
        super(GgmlType.Q4_1);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float d = fp16(src, block);
            float m = fp16(src, block + 2);
            int y = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = u8(src, block + 4 + j);
                dst[y + j] = (q & 0x0F) * d + m;
                dst[y + j + QK / 2] = (q >>> 4) * d + m;
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
            float d = fp16(src, block);
            float m = fp16(src, block + 2);
            int y = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j += LANES) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, block + 4 + j, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                ((FloatVector) (q.and(0x0F)).convert(VectorOperators.I2F, 0)).mul(d).add(m).intoArray(dst, y + j);
                ((FloatVector) (q.lanewise(VectorOperators.LSHR, 4)).convert(VectorOperators.I2F, 0)).mul(d).add(m).intoArray(dst, y + j + QK / 2);
            }
        }
    }

    private static final FloatVector LEVELS = LANES == 16
            ? FloatVector.fromArray(F, new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 0) : null;

    /**
     * Fused n = 1 kernel (16 lanes), one row at a time: a block's 16 possible weights nibble * d + m (the
     * dequantizer's multiply and add) are a table indexed by the nibbles (vpermd), its two chunks fed
     * straight into the row's accumulator in the order of {@link Dot}.
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (LANES == 8) {
            oneRowAtATime(w, x, xOffset, y, yOffset, from, to, scratch, Q4_1Format::rowEightLanes);
            return;
        }
        if (LANES != 16) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        oneRowAtATime(w, x, xOffset, y, yOffset, from, to, scratch, Q4_1Format::row);
    }

    /**
     * {@link #row} for 256-bit vectors (AVX2), where the 16-level table does not fit one permute: the low
     * nibbles of bytes 0-7 and 8-15, then their high nibbles, converted, scaled and offset as in the reference.
     */
    private static void rowEightLanes(MemorySegment s, long row, int blocks, float[] x, int xOffset, float[] lanes) {
        FloatVector a = FloatVector.zero(F), c = a;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BLOCK_BYTES;
            int xi = xOffset + b * QK;
            float d = fp16(s, block), m = fp16(s, block + 2);
            IntVector p = Q4_KFormat.bytes(s, block + 4), t = Q4_KFormat.bytes(s, block + 12);
            a = ((FloatVector) p.and(0x0F).convert(VectorOperators.I2F, 0)).fma(d, m).fma(FloatVector.fromArray(F, x, xi), a);
            c = ((FloatVector) t.and(0x0F).convert(VectorOperators.I2F, 0)).fma(d, m).fma(FloatVector.fromArray(F, x, xi + 8), c);
            a = ((FloatVector) p.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).fma(d, m).fma(FloatVector.fromArray(F, x, xi + 16), a);
            c = ((FloatVector) t.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).fma(d, m).fma(FloatVector.fromArray(F, x, xi + 24), c);
        }
        a.add(c).intoArray(lanes, 0);
    }

    private static void row(MemorySegment s, long row, int blocks, float[] x, int xOffset, float[] lanes) {
        FloatVector a = FloatVector.zero(F), c = a;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BLOCK_BYTES;
            int xi = xOffset + b * QK;
            IntVector table = LEVELS.mul(fp16(s, block)).add(fp16(s, block + 2)).reinterpretAsInts();
            IntVector q = Q4_KFormat.bytes(s, block + 4);
            a = q.and(0x0F).selectFrom(table).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi), a);
            c = q.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + 16), c);
        }
        a.add(c).intoArray(lanes, 0);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** ggml's quantize_row_q4_1_ref: d = (max-min)/15, m = min. */
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
            float d = (max - min) / 15;
            float id = d != 0 ? 1.0f / d : 0.0f;
            putFp16(dst, block, d);
            putFp16(dst, block + 2, min);
            for (int j = 0; j < QK / 2; j++) {
                int lo = Math.min(15, (byte) (int) ((src[x + j] - min) * id + 0.5f));
                int hi = Math.min(15, (byte) (int) ((src[x + QK / 2 + j] - min) * id + 0.5f));
                putU8(dst, block + 4 + j, lo | (hi << 4));
            }
        }
    }
}
