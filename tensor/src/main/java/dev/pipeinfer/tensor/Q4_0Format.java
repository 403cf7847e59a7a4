package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.B;
import static dev.pipeinfer.tensor.Lanes.I;
import static dev.pipeinfer.tensor.Lanes.LANES;
import static dev.pipeinfer.tensor.Lanes.toFloats;

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
                toFloats(q.and(0x0F).sub(8)).mul(d).intoArray(dst, y + j);
                toFloats(q.lanewise(VectorOperators.LSHR, 4).sub(8)).mul(d).intoArray(dst, y + j + QK / 2);
            }
        }
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
