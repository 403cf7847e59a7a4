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
 * Q4_0: blocks of 32 weights, 18 bytes: {@code d} (fp16) then 16 bytes of nibbles. Byte j holds weight j in
 * its low nibble and weight j+16 in its high nibble; w = (nibble - 8) * d.
 */
public final class Q4_0Format extends TensorFormat {
    static final int QK = 32;
    static final int BLOCK_BYTES = 18;

    Q4_0Format() {
        super(GgmlType.Q4_0);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float d = fp16(src, block);
            int y = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j++) {
                int q = u8(src, block + 2 + j);
                dst[y + j] = ((q & 0x0F) - 8) * d;
                dst[y + j + QK / 2] = ((q >>> 4) - 8) * d;
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
            int y = dstOffset + b * QK;
            for (int j = 0; j < QK / 2; j += LANES) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, block + 2 + j, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                ((FloatVector) (q.and(0x0F).sub(8)).convert(VectorOperators.I2F, 0)).mul(d).intoArray(dst, y + j);
                ((FloatVector) (q.lanewise(VectorOperators.LSHR, 4).sub(8)).convert(VectorOperators.I2F, 0)).mul(d).intoArray(dst, y + j + QK / 2);
            }
        }
    }

    /**
     * Fused n = 1 kernel (16 lanes): each block's 16 bytes widen to 16 int lanes, the low and high nibbles
     * minus 8 become the block's two 16-weight chunks, scaled by a broadcast d (exactly the dequantized
     * values) and fed straight into the FMAs. Chunk c feeds accumulator c mod 4 as in {@link Dot#dot1}, so
     * the result has the same bits as the generic decode-then-dot path used for n > 1.
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, float[] row, float[] lanes) {
        if (LANES != 16) {
            matvecRowsGeneric(w, x, xOffset, y, yOffset, from, to, row, lanes);
            return;
        }
        MemorySegment s = w.data;
        int blocks = w.cols / QK;
        for (int r = from; r < to; r++) {
            long base = w.rowOffset(r);
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int b = 0;
            for (; b + 2 <= blocks; b += 2) {
                long block = base + (long) b * BLOCK_BYTES;
                int xi = xOffset + b * QK;
                FloatVector d = FloatVector.broadcast(F, fp16(s, block));
                IntVector q = nibbleBytes(s, block);
                a0 = ((FloatVector) (q.and(0x0F).sub(8)).convert(VectorOperators.I2F, 0)).mul(d).fma(FloatVector.fromArray(F, x, xi), a0);
                a1 = ((FloatVector) (q.lanewise(VectorOperators.LSHR, 4).sub(8)).convert(VectorOperators.I2F, 0)).mul(d).fma(FloatVector.fromArray(F, x, xi + 16), a1);
                FloatVector d2 = FloatVector.broadcast(F, fp16(s, block + BLOCK_BYTES));
                IntVector q2 = nibbleBytes(s, block + BLOCK_BYTES);
                a2 = ((FloatVector) (q2.and(0x0F).sub(8)).convert(VectorOperators.I2F, 0)).mul(d2).fma(FloatVector.fromArray(F, x, xi + 32), a2);
                a3 = ((FloatVector) (q2.lanewise(VectorOperators.LSHR, 4).sub(8)).convert(VectorOperators.I2F, 0)).mul(d2).fma(FloatVector.fromArray(F, x, xi + 48), a3);
            }
            if (b < blocks) {
                long block = base + (long) b * BLOCK_BYTES;
                int xi = xOffset + b * QK;
                FloatVector d = FloatVector.broadcast(F, fp16(s, block));
                IntVector q = nibbleBytes(s, block);
                a0 = ((FloatVector) (q.and(0x0F).sub(8)).convert(VectorOperators.I2F, 0)).mul(d).fma(FloatVector.fromArray(F, x, xi), a0);
                a1 = ((FloatVector) (q.lanewise(VectorOperators.LSHR, 4).sub(8)).convert(VectorOperators.I2F, 0)).mul(d).fma(FloatVector.fromArray(F, x, xi + 16), a1);
            }
            a0.add(a1).add(a2.add(a3)).intoArray(lanes, 0);
            y[yOffset + r] = Dot.tail(row, x, xOffset, w.cols, w.cols, lanes);
        }
    }

    /** The block's 16 nibble bytes, zero-extended to int lanes. */
    private static IntVector nibbleBytes(MemorySegment s, long block) {
        return (IntVector) ByteVector.fromMemorySegment(B, s, block + 2, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** ggml's quantize_row_q4_0_ref: d = -max/8 where max is the value of largest magnitude. */
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
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            putFp16(dst, block, d);
            for (int j = 0; j < QK / 2; j++) {
                int lo = Math.min(15, (byte) (int) (src[x + j] * id + 8.5f));
                int hi = Math.min(15, (byte) (int) (src[x + QK / 2 + j] * id + 8.5f));
                putU8(dst, block + 2 + j, lo | (hi << 4));
            }
        }
    }
}
