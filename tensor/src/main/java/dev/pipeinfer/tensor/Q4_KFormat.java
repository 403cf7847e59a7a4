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
 * Q4_K: super-blocks of 256 weights, 144 bytes: {@code d}, {@code dmin} (fp16), 12 bytes holding eight 6-bit
 * (scale, min) pairs, then 128 bytes of nibbles. The 256 weights are 4 groups of 64: group g uses bytes
 * 32g..32g+31, low nibbles for its first 32 weights (sub-block 2g) and high nibbles for the next 32
 * (sub-block 2g+1); w = (d*scale) * q - (dmin*min).
 */
public final class Q4_KFormat extends TensorFormat {
    static final int QK = 256;
    static final int BLOCK_BYTES = 144;

    Q4_KFormat() {
        super(GgmlType.Q4_K);
    }

    /** ggml's get_scale_min_k4: sub-block j's 6-bit scale (result >> 8 is its 6-bit min) from the 12 packed bytes. */
    static int scaleMin(MemorySegment s, long scales, int j) {
        int sc, m;
        if (j < 4) {
            sc = u8(s, scales + j) & 63;
            m = u8(s, scales + j + 4) & 63;
        } else {
            sc = (u8(s, scales + j + 4) & 0xF) | ((u8(s, scales + j - 4) >>> 6) << 4);
            m = (u8(s, scales + j + 4) >>> 4) | ((u8(s, scales + j) >>> 6) << 4);
        }
        return sc | (m << 8);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float d = fp16(src, block);
            float min = fp16(src, block + 2);
            int y = dstOffset + b * QK;
            for (int g = 0; g < 4; g++) {
                int sm1 = scaleMin(src, block + 4, 2 * g), sm2 = scaleMin(src, block + 4, 2 * g + 1);
                float d1 = d * (sm1 & 0xFF), m1 = min * (sm1 >>> 8);
                float d2 = d * (sm2 & 0xFF), m2 = min * (sm2 >>> 8);
                long q = block + 16 + 32L * g;
                for (int l = 0; l < 32; l++) dst[y + 64 * g + l] = d1 * (u8(src, q + l) & 0xF) - m1;
                for (int l = 0; l < 32; l++) dst[y + 64 * g + 32 + l] = d2 * (u8(src, q + l) >>> 4) - m2;
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
            float min = fp16(src, block + 2);
            int y = dstOffset + b * QK;
            for (int g = 0; g < 4; g++) {
                int sm1 = scaleMin(src, block + 4, 2 * g), sm2 = scaleMin(src, block + 4, 2 * g + 1);
                float d1 = d * (sm1 & 0xFF), m1 = min * (sm1 >>> 8);
                float d2 = d * (sm2 & 0xFF), m2 = min * (sm2 >>> 8);
                long q = block + 16 + 32L * g;
                for (int l = 0; l < 32; l += LANES) {
                    IntVector v = (IntVector) ByteVector.fromMemorySegment(B, src, q + l, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    toFloats(v.and(0xF)).mul(d1).sub(m1).intoArray(dst, y + 64 * g + l);
                    toFloats(v.lanewise(VectorOperators.LSHR, 4)).mul(d2).sub(m2).intoArray(dst, y + 64 * g + 32 + l);
                }
            }
        }
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** ggml's quantize_row_q4_K_ref (no importance matrix). */
    @Override
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        checkWholeBlocks(k);
        int[] levels = new int[QK];
        for (int b = 0; b < k / QK; b++) {
            quantizeBlock(src, srcOffset + b * QK, dst, offset + (long) b * BLOCK_BYTES, 15, levels);
            long q = offset + (long) b * BLOCK_BYTES + 16;
            for (int j = 0; j < QK; j += 64) {
                for (int l = 0; l < 32; l++) putU8(dst, q + l, levels[j + l] | (levels[j + l + 32] << 4));
                q += 32;
            }
        }
    }

    /**
     * The part of quantize_row_q{4,5}_K_ref that Q4_K and Q5_K share: per 32-weight sub-block a (scale, min)
     * fit by make_qkx2_quants, both quantized to 6 bits against the block's largest, {@code d}/{@code dmin}
     * and the 12 scale bytes written at the block start, and every weight's level (0..nmax) left in
     * {@code levels}.
     */
    static void quantizeBlock(float[] x, int xo, MemorySegment dst, long block, int nmax, int[] levels) {
        float[] weights = new float[32];
        int[] aux = new int[32];
        float[] scales = new float[8];
        float[] mins = new float[8];
        float maxScale = 0, maxMin = 0;
        boolean q4 = nmax == 15;
        for (int j = 0; j < 8; j++) {
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) sumX2 += x[xo + 32 * j + l] * x[xo + 32 * j + l];
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) weights[l] = avX + Math.abs(x[xo + 32 * j + l]);
            scales[j] = KQuants.makeQkx2Quants(32, nmax, x, xo + 32 * j, weights, levels, 32 * j, mins, j, aux,
                    q4 ? -1.f : -0.5f, 0.1f, q4 ? 20 : 15, false);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
        float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
        int[] packed = new int[12];
        for (int j = 0; j < 8; j++) {
            int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF);
            int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
            if (j < 4) {
                packed[j] = ls;
                packed[j + 4] = lm;
            } else {
                packed[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
                packed[j - 4] |= (ls >>> 4) << 6;
                packed[j] |= (lm >>> 4) << 6;
            }
        }
        putFp16(dst, block, maxScale / 63.f);
        putFp16(dst, block + 2, maxMin / 63.f);
        for (int j = 0; j < 12; j++) putU8(dst, block + 4 + j, packed[j]);
        float d = fp16(dst, block), dmin = fp16(dst, block + 2);
        for (int j = 0; j < 8; j++) {
            int sm = scaleMin(dst, block + 4, j);
            float dj = d * (sm & 0xFF);
            if (dj == 0) continue;
            float dm = dmin * (sm >>> 8);
            for (int i = 0; i < 32; i++) {
                int l = nearestInt((x[xo + 32 * j + i] + dm) / dj);
                levels[32 * j + i] = Math.max(0, Math.min(nmax, l));
            }
        }
    }
}
