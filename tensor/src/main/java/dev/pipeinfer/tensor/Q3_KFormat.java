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

    /**
     * The sixteen 6-bit scales (unbiased, -32..31): low 4 bits in bytes 0-7 (scales 0-7 low nibbles, 8-15
     * high nibbles), high 2 bits in bytes 8-11 (scale j in byte 8 + j%4, bits 2(j/4)..). Done on whole
     * 32-bit words like ggml's kmask code, without a loop: C2's loop predication on a 16-step loop here
     * deoptimized over and over on some inputs (a 100x slowdown seen in the benchmarks).
     */
    static void unpackScales(MemorySegment s, long scales, int[] out) {
        unpackScaleWords(s, scales, out);
        int w0 = out[0], w1 = out[1], w2 = out[2], w3 = out[3];
        out[0] = (w0 & 0xFF) - 32; out[1] = ((w0 >>> 8) & 0xFF) - 32; out[2] = ((w0 >>> 16) & 0xFF) - 32; out[3] = (w0 >>> 24) - 32;
        out[4] = (w1 & 0xFF) - 32; out[5] = ((w1 >>> 8) & 0xFF) - 32; out[6] = ((w1 >>> 16) & 0xFF) - 32; out[7] = (w1 >>> 24) - 32;
        out[8] = (w2 & 0xFF) - 32; out[9] = ((w2 >>> 8) & 0xFF) - 32; out[10] = ((w2 >>> 16) & 0xFF) - 32; out[11] = (w2 >>> 24) - 32;
        out[12] = (w3 & 0xFF) - 32; out[13] = ((w3 >>> 8) & 0xFF) - 32; out[14] = ((w3 >>> 16) & 0xFF) - 32; out[15] = (w3 >>> 24) - 32;
    }

    /**
     * The sixteen scales, biased by 32 (0..63), a byte each, into {@code out[0 .. 4)}: scales 4i .. 4i + 3 in
     * word i, lowest byte first.
     */
    static void unpackScaleWords(MemorySegment s, long scales, int[] out) {
        int lo0 = s.get(LE_INT, scales), lo1 = s.get(LE_INT, scales + 4), high = s.get(LE_INT, scales + 8);
        out[0] = (lo0 & 0x0f0f0f0f) | ((high & 0x03030303) << 4);
        out[1] = (lo1 & 0x0f0f0f0f) | (((high >>> 2) & 0x03030303) << 4);
        out[2] = ((lo0 >>> 4) & 0x0f0f0f0f) | (((high >>> 4) & 0x03030303) << 4);
        out[3] = ((lo1 >>> 4) & 0x0f0f0f0f) | (((high >>> 6) & 0x03030303) << 4);
    }

    /**
     * Scale i alone, the same arithmetic as {@link #unpackScales} on word i / 4: lets the vector decoder read
     * scales without a scratch array (no allocation per call).
     */
    static int scale(MemorySegment s, long scales, int i) {
        int j = i >> 2;
        int lo = s.get(LE_INT, scales + 4 * (j & 1)), high = s.get(LE_INT, scales + 8);
        int word = ((lo >>> (4 * (j >> 1))) & 0x0f0f0f0f) | (((high >>> (2 * j)) & 0x03030303) << 4);
        return ((word >>> (8 * (i & 3))) & 0xFF) - 32;
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
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float dAll = fp16(src, block + 108);
            int y = dstOffset + b * QK;
            int is = 0, bit = 0;
            for (int half = 0; half < 2; half++) {
                long q = block + 32 + 32L * half;
                for (int shift = 0; shift < 8; shift += 2) {
                    for (int part = 0; part < 2; part++) {
                        float dl = dAll * scale(src, block + 96, is++);
                        for (int l = 0; l < 16; l += LANES) {
                            IntVector v = (IntVector) ByteVector.fromMemorySegment(B, src, q + 16 * part + l, ByteOrder.LITTLE_ENDIAN)
                                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                            IntVector hm = (IntVector) ByteVector.fromMemorySegment(B, src, block + 16 * part + l, ByteOrder.LITTLE_ENDIAN)
                                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                            // (bit set ? 0 : 4) == 4 - 4*bit
                            IntVector sub = hm.lanewise(VectorOperators.LSHR, bit).and(1).lanewise(VectorOperators.LSHL, 2).neg().add(4);
                            ((FloatVector) (v.lanewise(VectorOperators.LSHR, shift).and(3).sub(sub)).convert(VectorOperators.I2F, 0)).mul(dl).intoArray(dst, y + l);
                        }
                        y += 16;
                    }
                    bit++;
                }
            }
        }
    }

    /**
     * Fused n = 1 kernel: on 256-bit vectors {@link Q3_KEightLaneKernels}; on 512-bit ones (16 lanes), two rows at
     * a time, like {@link Q2_KFormat}'s: a 16-weight sub-block is
     * one chunk, and its weight is d*scale times a 3-bit level, low2 - (bit ? 0 : 4), i.e. a table of the
     * eight products d*scale * (i - 4) indexed by low2 + 4*bit (vpermd), the dequantizer's multiply on the
     * same values, fed to the FMAs in the order of {@link Dot}.
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (QuarterScaledKernels.applies()) {
            QuarterScaledKernels.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch, Q3_KEightLaneKernels.INSTANCE);
            return;
        }
        if (LANES != 16) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        MemorySegment s = w.data;
        int blocks = w.cols / QK;
        float[] sc = scratch.scales(16 * blocks), lanes = scratch.lanes;
        for (int r = from; r < to; r++) {
            long w0 = w.rowOffset(r);
            for (int b = 0; b < blocks; b++) subBlockScales(s, w0 + (long) b * BLOCK_BYTES, sc, 16 * b, scratch.blockScales);
            row(s, w0, blocks, sc, x, xOffset, lanes);
            finishRows(lanes, y, yOffset + r, 1);
        }
    }

    /** Batches on 256-bit vectors: {@link Q3_KEightLaneKernels}, every n (elsewhere the tiled path). */
    @Override
    boolean matmulRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                       KernelScratch scratch) {
        if (!QuarterScaledKernels.applies() || n < 2) return false;
        QuarterScaledKernels.matmulRows(w, x, xOffset, n, y, yOffset, from, to, scratch, Q3_KEightLaneKernels.INSTANCE);
        return true;
    }

    /**
     * Every super-block of one row (sub-block scales of super-block b at sc[16b..16b+16)); the accumulator
     * ends in lanes[0..16). The level bytes shift by two bits per step and the hmask bytes by one, across
     * both halves, as sub-block 8h + 2i + p takes bits 2i of its level byte and bit 4h + i of its hmask byte.
     * One row at a time: the two-row form was too large for C2 to keep its vectors in registers.
     */
    private static void row(MemorySegment s, long w0, int blocks, float[] sc, float[] x, int xOffset, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), c0 = a0;
        for (int b = 0; b < blocks; b++) {
            long b0 = w0 + (long) b * BLOCK_BYTES;
            int at = 16 * b, xi = xOffset + b * QK;
            IntVector h0 = Q4_KFormat.bytes(s, b0), g0 = Q4_KFormat.bytes(s, b0 + 16);
            for (int half = 0; half < 2; half++) {
                long q = 32 + 32L * half;
                IntVector u0 = Q4_KFormat.bytes(s, b0 + q), v0 = Q4_KFormat.bytes(s, b0 + q + 16);
                for (int j = 8 * half; j < 8 * half + 8; j += 2) {
                    a0 = levels(u0, h0).selectFrom(table(sc[at + j])).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + 16 * j), a0);
                    c0 = levels(v0, g0).selectFrom(table(sc[at + j + 1])).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + 16 * j + 16), c0);
                    u0 = u0.lanewise(VectorOperators.LSHR, 2);
                    v0 = v0.lanewise(VectorOperators.LSHR, 2);
                    h0 = h0.lanewise(VectorOperators.LSHR, 1);
                    g0 = g0.lanewise(VectorOperators.LSHR, 1);
                }
            }
        }
        a0.add(c0).intoArray(lanes, 0);
    }

    /** The table index low2 + 4*bit from the current low bits of the level and hmask bytes. */
    private static IntVector levels(IntVector low, IntVector high) {
        return low.and(3).or(high.lanewise(VectorOperators.LSHL, 2).and(4));
    }

    private static final FloatVector LEVELS = LANES == 16
            ? FloatVector.fromArray(F, new float[] {-4, -3, -2, -1, 0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0}, 0) : null;

    /** The eight possible weights scale * (i - 4) of a sub-block, as float bits in lanes 0-7. */
    private static IntVector table(float scale) {
        return LEVELS.mul(scale).reinterpretAsInts();
    }

    /** The sixteen sub-block scales d*scale into out[at..at+16), as the dequantizer computes them. */
    private static void subBlockScales(MemorySegment s, long block, float[] out, int at, int[] scales) {
        float dAll = fp16(s, block + 108);
        unpackScales(s, block + 96, scales);
        for (int j = 0; j < 16; j++) out[at + j] = dAll * scales[j];
    }
}
