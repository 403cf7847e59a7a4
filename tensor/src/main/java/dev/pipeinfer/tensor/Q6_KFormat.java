package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.B;
import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.I;
import static dev.pipeinfer.tensor.Lanes.LANES;

/**
 * Q6_K: super-blocks of 256 weights, 210 bytes: 128 bytes {@code ql} (low nibbles), 64 bytes {@code qh} (2
 * high bits each), 16 signed 8-bit scales (one per 16 weights), then {@code d} (fp16). Each half (128
 * weights) uses 64 ql bytes and 32 qh bytes: weight l, l+32, l+64, l+96 take ql[l] low, ql[l+32] low,
 * ql[l] high, ql[l+32] high nibbles and bits 0-1, 2-3, 4-5, 6-7 of qh[l]; w = (d*scale) * (q6 - 32).
 */
public final class Q6_KFormat extends TensorFormat {
    static final int QK = 256;
    static final int BLOCK_BYTES = 210;

    Q6_KFormat() {
        super(GgmlType.Q6_K);
    }

    private static int scale(MemorySegment s, long block, int i) {
        return s.get(ValueLayout.JAVA_BYTE, block + 192 + i);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float d = fp16(src, block + 208);
            for (int half = 0; half < 2; half++) {
                long ql = block + 64L * half, qh = block + 128 + 32L * half;
                int sc = 8 * half;
                int y = dstOffset + b * QK + 128 * half;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int h = u8(src, qh + l);
                    int q1 = ((u8(src, ql + l) & 0xF) | ((h & 3) << 4)) - 32;
                    int q2 = ((u8(src, ql + l + 32) & 0xF) | (((h >>> 2) & 3) << 4)) - 32;
                    int q3 = ((u8(src, ql + l) >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                    int q4 = ((u8(src, ql + l + 32) >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                    dst[y + l] = d * scale(src, block, sc + is) * q1;
                    dst[y + l + 32] = d * scale(src, block, sc + is + 2) * q2;
                    dst[y + l + 64] = d * scale(src, block, sc + is + 4) * q3;
                    dst[y + l + 96] = d * scale(src, block, sc + is + 6) * q4;
                }
            }
        }
    }

    /** Vector lanes never straddle a 16-weight scale group, since LANES divides 16. */
    @Override
    public void decodeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        if (!Lanes.USABLE) {
            dequantizeRow(src, offset, dst, dstOffset, k);
            return;
        }
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            // the 16 group scales go to the last 16 floats of this super-block's output, which are written
            // last, after their own scale has been read: no scratch array needed
            int scales = dstOffset + b * QK + QK - 16;
            groupScales(src, block, dst, scales);
            for (int half = 0; half < 2; half++) {
                long ql = block + 64L * half, qh = block + 128 + 32L * half;
                int sc = 8 * half;
                int y = dstOffset + b * QK + 128 * half;
                for (int l = 0; l < 32; l += LANES) {
                    int is = l / 16;
                    IntVector lo = (IntVector) ByteVector.fromMemorySegment(B, src, ql + l, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector hi = (IntVector) ByteVector.fromMemorySegment(B, src, ql + l + 32, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector h = (IntVector) ByteVector.fromMemorySegment(B, src, qh + l, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector q1 = lo.and(0xF).or(h.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32);
                    IntVector q2 = hi.and(0xF).or(h.lanewise(VectorOperators.LSHR, 2).and(3).lanewise(VectorOperators.LSHL, 4)).sub(32);
                    IntVector q3 = lo.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 4).and(3).lanewise(VectorOperators.LSHL, 4)).sub(32);
                    IntVector q4 = hi.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4)).sub(32);
                    ((FloatVector) (q1).convert(VectorOperators.I2F, 0)).mul(dst[scales + sc + is]).intoArray(dst, y + l);
                    ((FloatVector) (q2).convert(VectorOperators.I2F, 0)).mul(dst[scales + sc + is + 2]).intoArray(dst, y + l + 32);
                    ((FloatVector) (q3).convert(VectorOperators.I2F, 0)).mul(dst[scales + sc + is + 4]).intoArray(dst, y + l + 64);
                    ((FloatVector) (q4).convert(VectorOperators.I2F, 0)).mul(dst[scales + sc + is + 6]).intoArray(dst, y + l + 96);
                }
            }
        }
    }

    /**
     * Fused n = 1 kernel: on 256-bit vectors {@link Q6_KEightLaneKernels}; on 512-bit ones a row at a time,
     * first the row's group scales, then {@link #row}, which decodes each 128-weight half as in
     * {@link #decodeRow} and feeds its eight chunks into the accumulator in order. One accumulator chain per
     * row is enough here: decoding, not the FMA latency, is the limit. Shaped for C2: no call while vectors
     * are live (that boxes them), and all vector code written out in one method (helpers taking vectors may be
     * left out of line, which boxes them too).
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (QuarterScaledKernels.applies()) {
            QuarterScaledKernels.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch, Q6_KEightLaneKernels.INSTANCE);
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
            long base = w.rowOffset(r);
            for (int b = 0; b < blocks; b++) groupScales(s, base + (long) b * BLOCK_BYTES, sc, 16 * b);
            row(s, base, blocks, sc, x, xOffset, lanes);
            finishRows(lanes, y, yOffset + r, 1);
        }
    }

    /**
     * One row's dot product, its accumulator left in lanes[0..16). Chunk c covers weights 16c..16c+16:
     * quarter c/2 of the half (the 6-bit values of {@link #decodeRow}), positions 0..16 or 16..32 of it.
     */
    private static void row(MemorySegment s, long base, int blocks, float[] sc, float[] x, int xOffset, float[] lanes) {
        FloatVector a = FloatVector.zero(F), c = a;
        for (int b = 0; b < blocks; b++) {
            for (int half = 0; half < 2; half++) {
                long ql = base + (long) b * BLOCK_BYTES + 64L * half, qh = base + (long) b * BLOCK_BYTES + 128 + 32L * half;
                int at = 16 * b + 8 * half, xi = xOffset + b * QK + 128 * half;
                IntVector lo = (IntVector) ByteVector.fromMemorySegment(B, s, ql, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector lob = (IntVector) ByteVector.fromMemorySegment(B, s, ql + 16, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector hi = (IntVector) ByteVector.fromMemorySegment(B, s, ql + 32, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector hib = (IntVector) ByteVector.fromMemorySegment(B, s, ql + 48, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector h = (IntVector) ByteVector.fromMemorySegment(B, s, qh, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector hb = (IntVector) ByteVector.fromMemorySegment(B, s, qh + 16, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                a = ((FloatVector) lo.and(0xF).or(h.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at]).fma(FloatVector.fromArray(F, x, xi), a);
                c = ((FloatVector) lob.and(0xF).or(hb.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 1]).fma(FloatVector.fromArray(F, x, xi + 16), c);
                a = ((FloatVector) hi.and(0xF).or(h.lanewise(VectorOperators.LSHR, 2).and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 2]).fma(FloatVector.fromArray(F, x, xi + 32), a);
                c = ((FloatVector) hib.and(0xF).or(hb.lanewise(VectorOperators.LSHR, 2).and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 3]).fma(FloatVector.fromArray(F, x, xi + 48), c);
                a = ((FloatVector) lo.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 4).and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 4]).fma(FloatVector.fromArray(F, x, xi + 64), a);
                c = ((FloatVector) lob.lanewise(VectorOperators.LSHR, 4).or(hb.lanewise(VectorOperators.LSHR, 4).and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 5]).fma(FloatVector.fromArray(F, x, xi + 80), c);
                a = ((FloatVector) hi.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 6]).fma(FloatVector.fromArray(F, x, xi + 96), a);
                c = ((FloatVector) hib.lanewise(VectorOperators.LSHR, 4).or(hb.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 7]).fma(FloatVector.fromArray(F, x, xi + 112), c);
            }
        }
        a.add(c).intoArray(lanes, 0);
    }

    /**
     * Batches: on 256-bit vectors {@link Q6_KEightLaneKernels}, every n; on 512-bit ones two to four rows
     * ({@link #twoToFourScaledRows}), each weight row's scales and each chunk's decode done once for all of
     * them, fed into two accumulators (even, odd chunks) per activation row in the n = 1 order.
     */
    @Override
    boolean matmulRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                       KernelScratch scratch) {
        if (QuarterScaledKernels.applies()) {
            if (n < 2) return false;
            QuarterScaledKernels.matmulRows(w, x, xOffset, n, y, yOffset, from, to, scratch, Q6_KEightLaneKernels.INSTANCE);
            return true;
        }
        return LANES == 16 && twoToFourScaledRows(w, x, xOffset, n, y, yOffset, from, to, scratch,
                Q6_KFormat::rowScales, Q6_KFormat::rowTimesFour);
    }

    /** {@link #row} against four activation rows (the last repeated when fewer), accumulator i left in lanes[16 i ..]. */
    private static void rowTimesFour(MemorySegment s, long base, int blocks, float[] sc, float[] x, int x0, int x1, int x2,
                                     int x3, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        for (int b = 0; b < blocks; b++) {
            for (int half = 0; half < 2; half++) {
                long ql = base + (long) b * BLOCK_BYTES + 64L * half, qh = base + (long) b * BLOCK_BYTES + 128 + 32L * half;
                int at = 16 * b + 8 * half, o = b * QK + 128 * half;
                IntVector lo = (IntVector) ByteVector.fromMemorySegment(B, s, ql, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector lob = (IntVector) ByteVector.fromMemorySegment(B, s, ql + 16, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector hi = (IntVector) ByteVector.fromMemorySegment(B, s, ql + 32, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector hib = (IntVector) ByteVector.fromMemorySegment(B, s, ql + 48, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector h = (IntVector) ByteVector.fromMemorySegment(B, s, qh, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector hb = (IntVector) ByteVector.fromMemorySegment(B, s, qh + 16, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector w;
                w = ((FloatVector) lo.and(0xF).or(h.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at]);
                a0 = w.fma(FloatVector.fromArray(F, x, x0 + o), a0);
                a1 = w.fma(FloatVector.fromArray(F, x, x1 + o), a1);
                a2 = w.fma(FloatVector.fromArray(F, x, x2 + o), a2);
                a3 = w.fma(FloatVector.fromArray(F, x, x3 + o), a3);
                w = ((FloatVector) lob.and(0xF).or(hb.and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 1]);
                c0 = w.fma(FloatVector.fromArray(F, x, x0 + o + 16), c0);
                c1 = w.fma(FloatVector.fromArray(F, x, x1 + o + 16), c1);
                c2 = w.fma(FloatVector.fromArray(F, x, x2 + o + 16), c2);
                c3 = w.fma(FloatVector.fromArray(F, x, x3 + o + 16), c3);
                w = ((FloatVector) hi.and(0xF).or(h.lanewise(VectorOperators.LSHR, 2).and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 2]);
                a0 = w.fma(FloatVector.fromArray(F, x, x0 + o + 32), a0);
                a1 = w.fma(FloatVector.fromArray(F, x, x1 + o + 32), a1);
                a2 = w.fma(FloatVector.fromArray(F, x, x2 + o + 32), a2);
                a3 = w.fma(FloatVector.fromArray(F, x, x3 + o + 32), a3);
                w = ((FloatVector) hib.and(0xF).or(hb.lanewise(VectorOperators.LSHR, 2).and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 3]);
                c0 = w.fma(FloatVector.fromArray(F, x, x0 + o + 48), c0);
                c1 = w.fma(FloatVector.fromArray(F, x, x1 + o + 48), c1);
                c2 = w.fma(FloatVector.fromArray(F, x, x2 + o + 48), c2);
                c3 = w.fma(FloatVector.fromArray(F, x, x3 + o + 48), c3);
                w = ((FloatVector) lo.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 4).and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 4]);
                a0 = w.fma(FloatVector.fromArray(F, x, x0 + o + 64), a0);
                a1 = w.fma(FloatVector.fromArray(F, x, x1 + o + 64), a1);
                a2 = w.fma(FloatVector.fromArray(F, x, x2 + o + 64), a2);
                a3 = w.fma(FloatVector.fromArray(F, x, x3 + o + 64), a3);
                w = ((FloatVector) lob.lanewise(VectorOperators.LSHR, 4).or(hb.lanewise(VectorOperators.LSHR, 4).and(3).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 5]);
                c0 = w.fma(FloatVector.fromArray(F, x, x0 + o + 80), c0);
                c1 = w.fma(FloatVector.fromArray(F, x, x1 + o + 80), c1);
                c2 = w.fma(FloatVector.fromArray(F, x, x2 + o + 80), c2);
                c3 = w.fma(FloatVector.fromArray(F, x, x3 + o + 80), c3);
                w = ((FloatVector) hi.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 6]);
                a0 = w.fma(FloatVector.fromArray(F, x, x0 + o + 96), a0);
                a1 = w.fma(FloatVector.fromArray(F, x, x1 + o + 96), a1);
                a2 = w.fma(FloatVector.fromArray(F, x, x2 + o + 96), a2);
                a3 = w.fma(FloatVector.fromArray(F, x, x3 + o + 96), a3);
                w = ((FloatVector) hib.lanewise(VectorOperators.LSHR, 4).or(hb.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4)).sub(32).convert(VectorOperators.I2F, 0)).mul(sc[at + 7]);
                c0 = w.fma(FloatVector.fromArray(F, x, x0 + o + 112), c0);
                c1 = w.fma(FloatVector.fromArray(F, x, x1 + o + 112), c1);
                c2 = w.fma(FloatVector.fromArray(F, x, x2 + o + 112), c2);
                c3 = w.fma(FloatVector.fromArray(F, x, x3 + o + 112), c3);
            }
        }
        a0.add(c0).intoArray(lanes, 0);
        a1.add(c1).intoArray(lanes, 16);
        a2.add(c2).intoArray(lanes, 32);
        a3.add(c3).intoArray(lanes, 48);
    }

    /** {@link #groupScales} of every super-block of a row. */
    private static void rowScales(MemorySegment s, long row, int blocks, float[] sc) {
        for (int b = 0; b < blocks; b++) groupScales(s, row + (long) b * BLOCK_BYTES, sc, 16 * b);
    }

    /** The 16 group scales d*scale_i (a scalar call per super-block, kept out of the vector loop). */
    private static void groupScales(MemorySegment s, long block, float[] out, int at) {
        float d = fp16(s, block + 208);
        for (int i = 0; i < 16; i++) out[at + i] = d * scale(s, block, i);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** ggml's quantize_row_q6_K_ref (no importance matrix). */
    @Override
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        checkWholeBlocks(k);
        int[] levels = new int[QK];
        float[] scales = new float[16];
        for (int b = 0; b < k / QK; b++) {
            int x = srcOffset + b * QK;
            long block = offset + (long) b * BLOCK_BYTES;
            float maxScale = 0, maxAbsScale = 0;
            for (int ib = 0; ib < 16; ib++) {
                float s = KQuants.makeQxQuants(16, 32, src, x + 16 * ib, levels, 16 * ib);
                scales[ib] = s;
                if (Math.abs(s) > maxAbsScale) {
                    maxAbsScale = Math.abs(s);
                    maxScale = s;
                }
            }
            if (maxAbsScale < 1e-15f) {
                for (int i = 0; i < BLOCK_BYTES; i++) putU8(dst, block + i, 0);
                continue;
            }
            float iscale = -128.f / maxScale;
            putFp16(dst, block + 208, 1 / iscale);
            for (int ib = 0; ib < 16; ib++) putU8(dst, block + 192 + ib, Math.min(127, nearestInt(iscale * scales[ib])));
            float d = fp16(dst, block + 208);
            for (int j = 0; j < 16; j++) {
                float dj = d * scale(dst, block, j);
                if (dj == 0) continue;
                for (int i = 0; i < 16; i++) {
                    int l = nearestInt(src[x + 16 * j + i] / dj);
                    levels[16 * j + i] = Math.max(-32, Math.min(31, l)) + 32;
                }
            }
            for (int half = 0; half < 2; half++) {
                int j = 128 * half;
                long ql = block + 64L * half, qh = block + 128 + 32L * half;
                for (int l = 0; l < 32; l++) {
                    int l1 = levels[j + l], l2 = levels[j + l + 32], l3 = levels[j + l + 64], l4 = levels[j + l + 96];
                    putU8(dst, ql + l, (l1 & 0xF) | ((l3 & 0xF) << 4));
                    putU8(dst, ql + l + 32, (l2 & 0xF) | ((l4 & 0xF) << 4));
                    putU8(dst, qh + l, (l1 >>> 4) | ((l2 >>> 4) << 2) | ((l3 >>> 4) << 4) | ((l4 >>> 4) << 6));
                }
            }
        }
    }
}
