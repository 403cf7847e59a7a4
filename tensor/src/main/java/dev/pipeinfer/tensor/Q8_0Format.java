package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.B;
import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.LANES;

/**
 * Q8_0: blocks of 32 weights, 34 bytes: {@code d} (fp16 scale) then 32 signed bytes {@code q}; w = q * d.
 */
public final class Q8_0Format extends TensorFormat {
    static final int QK = 32;
    static final int BLOCK_BYTES = 34;

    Q8_0Format() {
        super(GgmlType.Q8_0);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float d = fp16(src, block);
            for (int j = 0; j < QK; j++) {
                dst[dstOffset + b * QK + j] = src.get(ValueLayout.JAVA_BYTE, block + 2 + j) * d;
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
            for (int j = 0; j < QK; j += LANES) {
                FloatVector q = (FloatVector) ByteVector.fromMemorySegment(B, src, block + 2 + j, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2F, F, 0);
                q.mul(d).intoArray(dst, dstOffset + b * QK + j);
            }
        }
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** ggml's quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d). */
    @Override
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            int x = srcOffset + b * QK;
            long block = offset + (long) b * BLOCK_BYTES;
            float amax = 0;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[x + j]));
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            putFp16(dst, block, d);
            for (int j = 0; j < QK; j++) putU8(dst, block + 2 + j, (int) roundHalfAway(src[x + j] * id));
        }
    }
}
