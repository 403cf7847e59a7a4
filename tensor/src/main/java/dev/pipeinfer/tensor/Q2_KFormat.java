package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.B;
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
}
