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
 * its low nibble and weight j+16 in its high nibble; w = (nibble - 8) * d. The fused kernels here are the 512-bit
 * ones; {@link Q4_0EightLaneKernels} has the 256-bit ones on f32 activations, {@link Q4_0Int8Kernels} those on
 * int8 activations.
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

    /**
     * With 16 lanes each block is two table lookups: the 16 possible weights (i - 8) * d, computed once per
     * block with the same float multiply as the reference, are indexed by the nibbles (vpermd), which is
     * cheaper than converting every nibble to float and scaling it.
     */
    @Override
    public void decodeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        if (!Lanes.USABLE) {
            dequantizeRow(src, offset, dst, dstOffset, k);
            return;
        }
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            int y = dstOffset + b * QK;
            if (LANES == 16) {
                IntVector table = table(src, block), q = nibbleBytes(src, block);
                q.selectFrom(table).reinterpretAsFloats().intoArray(dst, y);
                q.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats().intoArray(dst, y + 16);
                continue;
            }
            float d = fp16(src, block);
            for (int j = 0; j < QK / 2; j += LANES) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, src, block + 2 + j, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                ((FloatVector) (q.and(0x0F).sub(8)).convert(VectorOperators.I2F, 0)).mul(d).intoArray(dst, y + j);
                ((FloatVector) (q.lanewise(VectorOperators.LSHR, 4).sub(8)).convert(VectorOperators.I2F, 0)).mul(d).intoArray(dst, y + j + QK / 2);
            }
        }
    }

    /**
     * Fused n = 1 kernel (16 lanes), each block decoded as in {@link #decodeRow} (a 16-level table indexed by
     * the nibbles), low chunk then high chunk into its row's accumulator. Rows of {@link #FOUR_ROWS_FROM}
     * blocks or more go four at a time, one block of each per iteration: one row's accumulator alone is a
     * chain of dependent FMAs (two per block, 4 cycles each), which held a one-row kernel to ~8 cycles a
     * block, where four independent chains take ~4.6 (weights in cache, Zen 5). Four rows are four short
     * memory streams, so the kernel prefetches the next four ({@link RowPrefetch}). JMH 5632x2048, Zen 5
     * EPYC, calls/s one row -> four rows with prefetch: 1157 -> 1518 on 1 thread, 2205 -> 2862 on 2.
     * Shorter rows (draft-sized models) go two at a time, two blocks per iteration (stories260K Q4_0 step:
     * 77 against 69 µs with one row at a time). Written out rather than through a helper taking and
     * returning vectors: C2 does not always inline such a helper, and then boxes every vector.
     */
    static final int FOUR_ROWS_FROM = 8;

    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (LANES == 8) {
            Q4_0EightLaneKernels.twoRowsApart(w, x, xOffset, y, yOffset, from, to, scratch.lanes);
            return;
        }
        if (LANES != 16) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        if (w.cols / QK >= FOUR_ROWS_FROM) fourRowsAtATime(w, x, xOffset, y, yOffset, from, to, scratch);
        else twoRowsAtATime(w, x, xOffset, y, yOffset, from, to, scratch.lanes);
    }

    /**
     * The loops are methods of their own: as one method they were too big for C1's register allocator ("out of
     * virtual registers"), and a method that only ever ran short calls then stayed in tier-2 code, where vector
     * operations are not intrinsified: JMH with the weights in cache, 64x256 n = 1 4968 -> 428977 calls/s and
     * 256x256 1235 -> 127347 after the split (larger shapes were rescued by an on-stack-replaced C2 loop).
     */
    private static void fourRowsAtATime(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to,
                                        KernelScratch scratch) {
        MemorySegment s = w.data;
        float[] lanes = scratch.lanes;
        int blocks = w.cols / QK;
        long lastByte = w.rowOffset(w.rows) - 1;
        int touched = 0;
        for (int r0 = from; r0 < to; r0 += 4) {
            int rows = Math.min(4, to - r0);
            long w0 = w.rowOffset(r0), w1 = w.rowOffset(r0 + Math.min(1, rows - 1));
            long w2 = w.rowOffset(r0 + Math.min(2, rows - 1)), w3 = w.rowOffset(r0 + rows - 1);
            long next = w.rowOffset(Math.min(r0 + 4, w.rows - 1)); // the next group, 4 x the row bytes long
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
            for (int b = 0; b < blocks; b++) {
                long o = (long) b * BLOCK_BYTES;
                int xi = xOffset + b * QK;
                touched += RowPrefetch.touch(s, next + 4 * o, lastByte);
                FloatVector xlo = FloatVector.fromArray(F, x, xi), xhi = FloatVector.fromArray(F, x, xi + 16);
                IntVector t0 = table(s, w0 + o), q0 = nibbleBytes(s, w0 + o);
                IntVector t1 = table(s, w1 + o), q1 = nibbleBytes(s, w1 + o);
                IntVector t2 = table(s, w2 + o), q2 = nibbleBytes(s, w2 + o);
                IntVector t3 = table(s, w3 + o), q3 = nibbleBytes(s, w3 + o);
                a0 = q0.selectFrom(t0).reinterpretAsFloats().fma(xlo, a0);
                a1 = q1.selectFrom(t1).reinterpretAsFloats().fma(xlo, a1);
                a2 = q2.selectFrom(t2).reinterpretAsFloats().fma(xlo, a2);
                a3 = q3.selectFrom(t3).reinterpretAsFloats().fma(xlo, a3);
                c0 = q0.lanewise(VectorOperators.LSHR, 4).selectFrom(t0).reinterpretAsFloats().fma(xhi, c0);
                c1 = q1.lanewise(VectorOperators.LSHR, 4).selectFrom(t1).reinterpretAsFloats().fma(xhi, c1);
                c2 = q2.lanewise(VectorOperators.LSHR, 4).selectFrom(t2).reinterpretAsFloats().fma(xhi, c2);
                c3 = q3.lanewise(VectorOperators.LSHR, 4).selectFrom(t3).reinterpretAsFloats().fma(xhi, c3);
            }
            a0.add(c0).intoArray(lanes, 0);
            a1.add(c1).intoArray(lanes, 16);
            a2.add(c2).intoArray(lanes, 32);
            a3.add(c3).intoArray(lanes, 48);
            LaneSums.sumFourRows(lanes, 0, y, yOffset + r0, rows);
        }
        scratch.prefetched = touched;
    }

    private static void twoRowsAtATime(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to,
                                       float[] lanes) {
        MemorySegment s = w.data;
        int blocks = w.cols / QK;
        for (int r0 = from; r0 < to; r0 += 2) {
            int rows = Math.min(2, to - r0);
            long w0 = w.rowOffset(r0), w1 = w.rowOffset(r0 + rows - 1);
            FloatVector a0 = FloatVector.zero(F), a1 = a0, c0 = a0, c1 = a0;
            int b = 0;
            for (; b + 2 <= blocks; b += 2) {
                long o = (long) b * BLOCK_BYTES, o2 = o + BLOCK_BYTES;
                int xi = xOffset + b * QK;
                FloatVector xlo = FloatVector.fromArray(F, x, xi), xhi = FloatVector.fromArray(F, x, xi + 16);
                FloatVector xlo2 = FloatVector.fromArray(F, x, xi + 32), xhi2 = FloatVector.fromArray(F, x, xi + 48);
                IntVector t0 = table(s, w0 + o), q0 = nibbleBytes(s, w0 + o);
                IntVector t1 = table(s, w1 + o), q1 = nibbleBytes(s, w1 + o);
                IntVector u0 = table(s, w0 + o2), p0 = nibbleBytes(s, w0 + o2);
                IntVector u1 = table(s, w1 + o2), p1 = nibbleBytes(s, w1 + o2);
                a0 = q0.selectFrom(t0).reinterpretAsFloats().fma(xlo, a0);
                a1 = q1.selectFrom(t1).reinterpretAsFloats().fma(xlo, a1);
                c0 = q0.lanewise(VectorOperators.LSHR, 4).selectFrom(t0).reinterpretAsFloats().fma(xhi, c0);
                c1 = q1.lanewise(VectorOperators.LSHR, 4).selectFrom(t1).reinterpretAsFloats().fma(xhi, c1);
                a0 = p0.selectFrom(u0).reinterpretAsFloats().fma(xlo2, a0);
                a1 = p1.selectFrom(u1).reinterpretAsFloats().fma(xlo2, a1);
                c0 = p0.lanewise(VectorOperators.LSHR, 4).selectFrom(u0).reinterpretAsFloats().fma(xhi2, c0);
                c1 = p1.lanewise(VectorOperators.LSHR, 4).selectFrom(u1).reinterpretAsFloats().fma(xhi2, c1);
            }
            for (; b < blocks; b++) {
                long o = (long) b * BLOCK_BYTES;
                int xi = xOffset + b * QK;
                FloatVector xlo = FloatVector.fromArray(F, x, xi), xhi = FloatVector.fromArray(F, x, xi + 16);
                IntVector t0 = table(s, w0 + o), q0 = nibbleBytes(s, w0 + o);
                IntVector t1 = table(s, w1 + o), q1 = nibbleBytes(s, w1 + o);
                a0 = q0.selectFrom(t0).reinterpretAsFloats().fma(xlo, a0);
                a1 = q1.selectFrom(t1).reinterpretAsFloats().fma(xlo, a1);
                c0 = q0.lanewise(VectorOperators.LSHR, 4).selectFrom(t0).reinterpretAsFloats().fma(xhi, c0);
                c1 = q1.lanewise(VectorOperators.LSHR, 4).selectFrom(t1).reinterpretAsFloats().fma(xhi, c1);
            }
            a0.add(c0).intoArray(lanes, 0);
            a1.add(c1).intoArray(lanes, 16);
            finishRows(lanes, y, yOffset + r0, rows);
        }
    }

    /**
     * Batches of two to four rows: each block's table lookups (the costly part of the decode) done once for
     * all of them. Paired JMH runs, 5632x2048, calls/s against the tiled path: n = 2 +3-6 % on 1 thread and
     * +5-35 % on 2, n = 3 +27 % / +32 %, n = 4 +27 % / +38 % (one weight row at a time against four activation
     * rows, {@link #rowTimesFour}: Intel's path). Elsewhere two weight rows half a slice apart, as Q8_0's
     * batches, and up to 16 rows in passes of four. JMH 5632x2048 on the Zen 4 EPYC, calls/s, two interleaved
     * rounds against the kernel before: 2 threads n = 2 886-1299 -> 1506-1863, n = 4 654-831 -> 1086-1230,
     * n = 8 (tiled before) 362-363 -> 552-593, n = 16 207 -> 274; 1 thread n = 2 491 -> 862, n = 8 181 -> 288
     * (n = 1 on 2 threads 1695-2358).
     */
    @Override
    boolean matmulRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                       KernelScratch scratch) {
        if (LANES == 8 && n == 2) {
            Q4_0EightLaneKernels.twoRowsApartTimesTwo(w, x, xOffset, y, yOffset, from, to, scratch.lanes);
            return true;
        }
        if (LANES == 8) return eightLaneBatch(w, x, xOffset, n, y, yOffset, from, to, scratch, Q4_0EightLaneKernels::rowTimesFour);
        if (LANES != 16) return false;
        if (n == 2 && !RowStreams.fourRows()) {
            twoRowsApartTimesTwo(w, x, xOffset, y, yOffset, from, to, scratch.lanes);
            return true;
        }
        if (n <= Q8_0Format.IN_PASSES_UP_TO && !RowStreams.fourRows()) { // groups of four activation rows, one pass each
            for (int j = 0; j < n; j += 4) {
                int group = Math.min(4, n - j);
                twoRowsApartTimesFour(w, x, xOffset + j * w.cols, group, y, yOffset + j * w.rows, from, to, scratch);
            }
            return true;
        }
        return upToFourRows(w, x, xOffset, n, y, yOffset, from, to, scratch, Q4_0Format::rowTimesFour);
    }

    /**
     * n = 2, as {@link Q8_0Format}'s: weight rows r and r + half of the slice against both activation rows, each
     * block's table lookups shared by the two. The four-activation kernel with repeated rows did twice the FMAs.
     */
    private static void twoRowsApartTimesTwo(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from,
                                             int to, float[] lanes) {
        MemorySegment s = w.data;
        int k = w.cols, m = w.rows, blocks = k / QK, half = (to - from + 1) / 2;
        int x1 = xOffset + k;
        for (int r0 = from; r0 < from + half; r0++) {
            int r1 = r0 + half;
            boolean pair = r1 < to;
            long w0 = w.rowOffset(r0), w1 = w.rowOffset(pair ? r1 : r0);
            FloatVector a00 = FloatVector.zero(F), c00 = a00, a01 = a00, c01 = a00, a10 = a00, c10 = a00, a11 = a00, c11 = a00;
            for (int b = 0; b < blocks; b++) {
                long o = (long) b * BLOCK_BYTES;
                int xi = b * QK;
                IntVector t0 = table(s, w0 + o), q0 = nibbleBytes(s, w0 + o);
                IntVector t1 = table(s, w1 + o), q1 = nibbleBytes(s, w1 + o);
                FloatVector lo0 = q0.selectFrom(t0).reinterpretAsFloats();
                FloatVector hi0 = q0.lanewise(VectorOperators.LSHR, 4).selectFrom(t0).reinterpretAsFloats();
                FloatVector lo1 = q1.selectFrom(t1).reinterpretAsFloats();
                FloatVector hi1 = q1.lanewise(VectorOperators.LSHR, 4).selectFrom(t1).reinterpretAsFloats();
                FloatVector x0lo = FloatVector.fromArray(F, x, xOffset + xi), x0hi = FloatVector.fromArray(F, x, xOffset + xi + 16);
                FloatVector x1lo = FloatVector.fromArray(F, x, x1 + xi), x1hi = FloatVector.fromArray(F, x, x1 + xi + 16);
                a00 = lo0.fma(x0lo, a00);
                c00 = hi0.fma(x0hi, c00);
                a01 = lo0.fma(x1lo, a01);
                c01 = hi0.fma(x1hi, c01);
                a10 = lo1.fma(x0lo, a10);
                c10 = hi1.fma(x0hi, c10);
                a11 = lo1.fma(x1lo, a11);
                c11 = hi1.fma(x1hi, c11);
            }
            a00.add(c00).intoArray(lanes, 0);
            a01.add(c01).intoArray(lanes, 16);
            a10.add(c10).intoArray(lanes, 32);
            a11.add(c11).intoArray(lanes, 48);
            LaneSums.sumFourRows(lanes, 0, lanes, 64, 4);
            y[yOffset + r0] = lanes[64];
            y[yOffset + m + r0] = lanes[65];
            if (pair) {
                y[yOffset + r1] = lanes[66];
                y[yOffset + m + r1] = lanes[67];
            }
        }
    }

    /** n = 3 to 16 in passes of four activation rows, as {@link Q8_0Format}'s: sixteen accumulators. */
    private static void twoRowsApartTimesFour(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset,
                                              int from, int to, KernelScratch scratch) {
        MemorySegment s = w.data;
        int k = w.cols, m = w.rows, blocks = k / QK, half = (to - from + 1) / 2;
        int x1 = xOffset + Math.min(1, n - 1) * k, x2 = xOffset + Math.min(2, n - 1) * k, x3 = xOffset + (n - 1) * k;
        float[] lanes = scratch.lanes, sums = scratch.scales(8);
        for (int r0 = from; r0 < from + half; r0++) {
            int r1 = r0 + half;
            boolean pair = r1 < to;
            long w0 = w.rowOffset(r0), w1 = w.rowOffset(pair ? r1 : r0);
            FloatVector a00 = FloatVector.zero(F), c00 = a00, a01 = a00, c01 = a00, a02 = a00, c02 = a00, a03 = a00, c03 = a00;
            FloatVector a10 = a00, c10 = a00, a11 = a00, c11 = a00, a12 = a00, c12 = a00, a13 = a00, c13 = a00;
            for (int b = 0; b < blocks; b++) {
                long o = (long) b * BLOCK_BYTES;
                int xi = b * QK;
                IntVector t0 = table(s, w0 + o), q0 = nibbleBytes(s, w0 + o);
                IntVector t1 = table(s, w1 + o), q1 = nibbleBytes(s, w1 + o);
                FloatVector lo0 = q0.selectFrom(t0).reinterpretAsFloats();
                FloatVector hi0 = q0.lanewise(VectorOperators.LSHR, 4).selectFrom(t0).reinterpretAsFloats();
                FloatVector lo1 = q1.selectFrom(t1).reinterpretAsFloats();
                FloatVector hi1 = q1.lanewise(VectorOperators.LSHR, 4).selectFrom(t1).reinterpretAsFloats();
                FloatVector xl = FloatVector.fromArray(F, x, xOffset + xi), xh = FloatVector.fromArray(F, x, xOffset + xi + 16);
                a00 = lo0.fma(xl, a00); c00 = hi0.fma(xh, c00); a10 = lo1.fma(xl, a10); c10 = hi1.fma(xh, c10);
                xl = FloatVector.fromArray(F, x, x1 + xi); xh = FloatVector.fromArray(F, x, x1 + xi + 16);
                a01 = lo0.fma(xl, a01); c01 = hi0.fma(xh, c01); a11 = lo1.fma(xl, a11); c11 = hi1.fma(xh, c11);
                xl = FloatVector.fromArray(F, x, x2 + xi); xh = FloatVector.fromArray(F, x, x2 + xi + 16);
                a02 = lo0.fma(xl, a02); c02 = hi0.fma(xh, c02); a12 = lo1.fma(xl, a12); c12 = hi1.fma(xh, c12);
                xl = FloatVector.fromArray(F, x, x3 + xi); xh = FloatVector.fromArray(F, x, x3 + xi + 16);
                a03 = lo0.fma(xl, a03); c03 = hi0.fma(xh, c03); a13 = lo1.fma(xl, a13); c13 = hi1.fma(xh, c13);
            }
            a00.add(c00).intoArray(lanes, 0);
            a01.add(c01).intoArray(lanes, 16);
            a02.add(c02).intoArray(lanes, 32);
            a03.add(c03).intoArray(lanes, 48);
            a10.add(c10).intoArray(lanes, 64);
            a11.add(c11).intoArray(lanes, 80);
            a12.add(c12).intoArray(lanes, 96);
            a13.add(c13).intoArray(lanes, 112);
            LaneSums.sumFourRows(lanes, 0, sums, 0, 4);
            LaneSums.sumFourRows(lanes, 64, sums, 4, 4);
            for (int i = 0; i < n; i++) y[yOffset + i * m + r0] = sums[i];
            if (pair) for (int i = 0; i < n; i++) y[yOffset + i * m + r1] = sums[4 + i];
        }
    }

    private static void rowTimesFour(MemorySegment s, long row, int blocks, float[] x, int x0, int x1, int x2, int x3,
                                     float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BLOCK_BYTES;
            int o = b * QK;
            IntVector t = table(s, block), q = nibbleBytes(s, block);
            FloatVector lo = q.selectFrom(t).reinterpretAsFloats();
            FloatVector hi = q.lanewise(VectorOperators.LSHR, 4).selectFrom(t).reinterpretAsFloats();
            a0 = lo.fma(FloatVector.fromArray(F, x, x0 + o), a0);
            a1 = lo.fma(FloatVector.fromArray(F, x, x1 + o), a1);
            a2 = lo.fma(FloatVector.fromArray(F, x, x2 + o), a2);
            a3 = lo.fma(FloatVector.fromArray(F, x, x3 + o), a3);
            c0 = hi.fma(FloatVector.fromArray(F, x, x0 + o + 16), c0);
            c1 = hi.fma(FloatVector.fromArray(F, x, x1 + o + 16), c1);
            c2 = hi.fma(FloatVector.fromArray(F, x, x2 + o + 16), c2);
            c3 = hi.fma(FloatVector.fromArray(F, x, x3 + o + 16), c3);
        }
        a0.add(c0).intoArray(lanes, 0);
        a1.add(c1).intoArray(lanes, 16);
        a2.add(c2).intoArray(lanes, 32);
        a3.add(c3).intoArray(lanes, 48);
        LaneSums.sumFourRows(lanes, 0, lanes, 0, 4);
    }

    private static final FloatVector LEVELS = LANES == 16
            ? FloatVector.fromArray(F, new float[] {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7}, 0) : null;

    /** The block's 16 possible weights (i - 8) * d as float bits; vpermd ignores the index bits above 4. */
    private static IntVector table(MemorySegment s, long block) {
        return LEVELS.mul(fp16(s, block)).reinterpretAsInts();
    }

    /** The block's 16 nibble bytes, zero-extended to int lanes. */
    private static IntVector nibbleBytes(MemorySegment s, long block) {
        return (IntVector) ByteVector.fromMemorySegment(B, s, block + 2, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    private static final Int8Matmul.Kernels INT8 = new Q4_0Int8Kernels();

    @Override
    Int8Matmul.Kernels int8Kernels() {
        return INT8;
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
