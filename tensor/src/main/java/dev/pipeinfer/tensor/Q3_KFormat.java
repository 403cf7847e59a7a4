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
 * Q3_K: super-blocks of 256 weights, 110 bytes: 32 bytes {@code hmask} (third bits), 64 bytes of 2-bit low
 * levels laid out as in Q2_K, 12 bytes packing sixteen 6-bit scales, then {@code d} (fp16). Weight i's high
 * bit is bit (i / 32) of hmask[i % 32]; a clear bit subtracts 4: w = (d*(scale-32)) * (low2 - (bit ? 0 : 4)).
 */
public final class Q3_KFormat extends TensorFormat {
    static final int QK = 256;
    static final int BLOCK_BYTES = 110;

    Q3_KFormat() {
        super(GgmlType.Q3_K);
    }

    /** The sixteen 6-bit scales (unbiased, -32..31): low 4 bits in bytes 0-7, high 2 bits in bytes 8-11. */
    static void unpackScales(MemorySegment s, long scales, int[] out) {
        for (int j = 0; j < 16; j++) {
            int low = j < 8 ? u8(s, scales + j) & 0xF : u8(s, scales + j - 8) >>> 4;
            int high = (u8(s, scales + 8 + j % 4) >>> (2 * (j / 4))) & 3;
            out[j] = (low | (high << 4)) - 32;
        }
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        checkWholeBlocks(k);
        int[] scales = new int[16];
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float dAll = fp16(src, block + 108);
            unpackScales(src, block + 96, scales);
            int y = dstOffset + b * QK;
            int is = 0, m = 1;
            for (int half = 0; half < 2; half++) {
                long q = block + 32 + 32L * half;
                for (int shift = 0; shift < 8; shift += 2) {
                    for (int part = 0; part < 2; part++) {
                        float dl = dAll * scales[is++];
                        for (int l = 0; l < 16; l++) {
                            int low = (u8(src, q + 16 * part + l) >>> shift) & 3;
                            int h = (u8(src, block + 16 * part + l) & m) != 0 ? 0 : 4;
                            dst[y++] = dl * (low - h);
                        }
                    }
                    m <<= 1;
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
        int[] scales = new int[16];
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float dAll = fp16(src, block + 108);
            unpackScales(src, block + 96, scales);
            int y = dstOffset + b * QK;
            int is = 0, bit = 0;
            for (int half = 0; half < 2; half++) {
                long q = block + 32 + 32L * half;
                for (int shift = 0; shift < 8; shift += 2) {
                    for (int part = 0; part < 2; part++) {
                        float dl = dAll * scales[is++];
                        for (int l = 0; l < 16; l += LANES) {
                            IntVector v = (IntVector) ByteVector.fromMemorySegment(B, src, q + 16 * part + l, ByteOrder.LITTLE_ENDIAN)
                                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                            IntVector hm = (IntVector) ByteVector.fromMemorySegment(B, src, block + 16 * part + l, ByteOrder.LITTLE_ENDIAN)
                                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                            // (bit set ? 0 : 4) == 4 - 4*bit
                            IntVector sub = hm.lanewise(VectorOperators.LSHR, bit).and(1).lanewise(VectorOperators.LSHL, 2).neg().add(4);
                            toFloats(v.lanewise(VectorOperators.LSHR, shift).and(3).sub(sub)).mul(dl).intoArray(dst, y + l);
                        }
                        y += 16;
                    }
                    bit++;
                }
            }
        }
    }
}
