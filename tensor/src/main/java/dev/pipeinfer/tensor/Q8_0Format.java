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

    /**
     * Fused n = 1 kernel (16 lanes), each half-block converted and scaled as in {@link #decodeRow}, its low
     * halves into the row's even accumulator and its high halves into the odd one. Which rows go together
     * suits the machine's prefetchers ({@link RowStreams}): on Intel, four adjacent rows side by side; elsewhere
     * two rows half a slice apart ({@link #twoRowsApart}).
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (LANES == 8) {
            twoRowsApartEightLanes(w, x, xOffset, y, yOffset, from, to, scratch.lanes);
            return;
        }
        if (LANES != 16) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        if (RowStreams.fourRows()) fourRowsAtATime(w, x, xOffset, y, yOffset, from, to, scratch.lanes);
        else twoRowsApart(w, x, xOffset, y, yOffset, from, to, scratch.lanes);
    }

    /**
     * Rows r and r + half of the slice [from, to) together: four FMA chains where one row has two (at four
     * cycles an FMA, one row's two chains held it to a block per four cycles), and two memory streams that lie
     * pages apart. Adjacent rows (2176 bytes at k = 2048) would interleave two streams within the same pages,
     * and that took two adjacent rows to half the speed of one row from DRAM on the Zen 4 EPYC, though the
     * same in cache. JMH 5632x2048 there, four interleaved rounds, calls/s, one row at a time against this:
     * 2 threads 1396-2397 (median 1640) against 1901-2249 (2190), 1 thread 875-1329 (1055) against
     * 1100-1362 (1241); four rows a quarter slice apart were in between (1684-2078 on 2 threads).
     */
    private static void twoRowsApart(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to,
                                     float[] lanes) {
        MemorySegment s = w.data;
        int blocks = w.cols / QK, half = (to - from + 1) / 2;
        for (int r0 = from; r0 < from + half; r0++) {
            int r1 = r0 + half;
            boolean pair = r1 < to; // else the odd last row, computed twice, stored once
            long w0 = w.rowOffset(r0), w1 = w.rowOffset(pair ? r1 : r0);
            FloatVector a0 = FloatVector.zero(F), a1 = a0, c0 = a0, c1 = a0;
            for (int b = 0; b < blocks; b++) {
                long o = (long) b * BLOCK_BYTES;
                int xi = xOffset + b * QK;
                FloatVector xlo = FloatVector.fromArray(F, x, xi), xhi = FloatVector.fromArray(F, x, xi + 16);
                float d0 = fp16(s, w0 + o), d1 = fp16(s, w1 + o);
                a0 = bytes(s, w0 + o + 2).mul(d0).fma(xlo, a0);
                c0 = bytes(s, w0 + o + 18).mul(d0).fma(xhi, c0);
                a1 = bytes(s, w1 + o + 2).mul(d1).fma(xlo, a1);
                c1 = bytes(s, w1 + o + 18).mul(d1).fma(xhi, c1);
            }
            a0.add(c0).intoArray(lanes, 0);
            a1.add(c1).intoArray(lanes, 16);
            y[yOffset + r0] = LaneSums.of(lanes, 0);
            if (pair) y[yOffset + r1] = LaneSums.of(lanes, 16);
        }
    }

    /**
     * {@link #twoRowsApart} for 256-bit vectors (AVX2): a block is four chunks of eight, the first and third into
     * a row's even accumulator, the second and fourth into its odd one. The eight conversions of a block come
     * before its multiplies and FMAs: each interleaved with its FMA, the loop ran 30 % slower (JMH 5632x2048
     * on the Zen 2 EPYC, 2 threads, 1098-1135 -> 1470 calls/s; 64x2048 in L2, 52 000 -> 72 000).
     */
    private static void twoRowsApartEightLanes(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from,
                                               int to, float[] lanes) {
        MemorySegment s = w.data;
        int blocks = w.cols / QK, half = (to - from + 1) / 2;
        for (int r0 = from; r0 < from + half; r0++) {
            int r1 = r0 + half;
            boolean pair = r1 < to;
            long w0 = w.rowOffset(r0), w1 = w.rowOffset(pair ? r1 : r0);
            FloatVector a0 = FloatVector.zero(F), a1 = a0, c0 = a0, c1 = a0;
            for (int b = 0; b < blocks; b++) {
                long o = (long) b * BLOCK_BYTES;
                int xi = xOffset + b * QK;
                FloatVector x0 = FloatVector.fromArray(F, x, xi), x1 = FloatVector.fromArray(F, x, xi + 8);
                FloatVector x2 = FloatVector.fromArray(F, x, xi + 16), x3 = FloatVector.fromArray(F, x, xi + 24);
                float d0 = fp16(s, w0 + o), d1 = fp16(s, w1 + o);
                FloatVector e0 = bytes(s, w0 + o + 2), f0 = bytes(s, w0 + o + 10), g0 = bytes(s, w0 + o + 18), h0 = bytes(s, w0 + o + 26);
                FloatVector e1 = bytes(s, w1 + o + 2), f1 = bytes(s, w1 + o + 10), g1 = bytes(s, w1 + o + 18), h1 = bytes(s, w1 + o + 26);
                a0 = e0.mul(d0).fma(x0, a0);
                c0 = f0.mul(d0).fma(x1, c0);
                a1 = e1.mul(d1).fma(x0, a1);
                c1 = f1.mul(d1).fma(x1, c1);
                a0 = g0.mul(d0).fma(x2, a0);
                c0 = h0.mul(d0).fma(x3, c0);
                a1 = g1.mul(d1).fma(x2, a1);
                c1 = h1.mul(d1).fma(x3, c1);
            }
            a0.add(c0).intoArray(lanes, 0);
            a1.add(c1).intoArray(lanes, 8);
            y[yOffset + r0] = LaneSums.of(lanes, 0);
            if (pair) y[yOffset + r1] = LaneSums.of(lanes, 8);
        }
    }

    private static void fourRowsAtATime(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to,
                                        float[] lanes) {
        MemorySegment s = w.data;
        int blocks = w.cols / QK;
        for (int r0 = from; r0 < to; r0 += 4) {
            int rows = Math.min(4, to - r0);
            long w0 = w.rowOffset(r0), w1 = w.rowOffset(r0 + Math.min(1, rows - 1));
            long w2 = w.rowOffset(r0 + Math.min(2, rows - 1)), w3 = w.rowOffset(r0 + rows - 1);
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
            for (int b = 0; b < blocks; b++) {
                long o = (long) b * BLOCK_BYTES;
                int xi = xOffset + b * QK;
                FloatVector xlo = FloatVector.fromArray(F, x, xi), xhi = FloatVector.fromArray(F, x, xi + 16);
                float d0 = fp16(s, w0 + o), d1 = fp16(s, w1 + o), d2 = fp16(s, w2 + o), d3 = fp16(s, w3 + o);
                a0 = bytes(s, w0 + o + 2).mul(d0).fma(xlo, a0);
                a1 = bytes(s, w1 + o + 2).mul(d1).fma(xlo, a1);
                a2 = bytes(s, w2 + o + 2).mul(d2).fma(xlo, a2);
                a3 = bytes(s, w3 + o + 2).mul(d3).fma(xlo, a3);
                c0 = bytes(s, w0 + o + 18).mul(d0).fma(xhi, c0);
                c1 = bytes(s, w1 + o + 18).mul(d1).fma(xhi, c1);
                c2 = bytes(s, w2 + o + 18).mul(d2).fma(xhi, c2);
                c3 = bytes(s, w3 + o + 18).mul(d3).fma(xhi, c3);
            }
            a0.add(c0).intoArray(lanes, 0);
            a1.add(c1).intoArray(lanes, 16);
            a2.add(c2).intoArray(lanes, 32);
            a3.add(c3).intoArray(lanes, 48);
            LaneSums.sumFourRows(lanes, 0, y, yOffset + r0, rows);
        }
    }

    /**
     * Batches of two to four rows: each half-block converted and scaled once for all of them. JMH 5632x2048
     * against the tiled path (with the two-accumulator order): n = 2 679 / 1288 calls/s against 451 / 739 on
     * 1 / 2 threads; n = 4 +12 % on 1 thread, +30 % on 2. That kernel stays for Intel; where n = 1 reads two
     * rows apart, so do n = 2 ({@link #twoRowsApartTimesTwo}) and n = 3 to {@link #IN_PASSES_UP_TO}
     * ({@link #twoRowsApartTimesFour}, in passes of four activation rows).
     */
    @Override
    boolean matmulRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                       KernelScratch scratch) {
        if (LANES == 8 && n == 2) {
            twoRowsApartTimesTwoEightLanes(w, x, xOffset, y, yOffset, from, to, scratch.lanes);
            return true;
        }
        if (LANES == 8) return eightLaneBatch(w, x, xOffset, n, y, yOffset, from, to, scratch, Q8_0Format::rowTimesFourEightLanes);
        if (LANES != 16 || n < 2) return false;
        if (n == 2 && !RowStreams.fourRows()) {
            twoRowsApartTimesTwo(w, x, xOffset, y, yOffset, from, to, scratch.lanes);
            return true;
        }
        if (n <= IN_PASSES_UP_TO && !RowStreams.fourRows()) { // groups of four activation rows, one pass each
            for (int j = 0; j < n; j += 4) {
                int group = Math.min(4, n - j);
                twoRowsApartTimesFour(w, x, xOffset + j * w.cols, group, y, yOffset + j * w.rows, from, to, scratch);
            }
            return true;
        }
        return upToFourRows(w, x, xOffset, n, y, yOffset, from, to, scratch, Q8_0Format::rowTimesFour);
    }

    /**
     * Batches up to this size go as passes of {@link #twoRowsApartTimesFour} over groups of four activation rows
     * (the weights read once per pass) where n = 1 reads two rows apart; larger ones take the tiled path, whose
     * four-by-four kernel decodes each tile once for all of them. JMH 5632x2048 on the Zen 4 EPYC, passes
     * against tiled, calls/s: n = 8 491-493 vs 289-354 on 2 threads, 254-260 vs 183-186 on 1; n = 16 248-249 vs
     * 228 on 2; n = 32 145-150 vs 131-144 (even).
     */
    static final int IN_PASSES_UP_TO = 16;

    /**
     * n = 3 and 4 as {@link #twoRowsApart}: weight rows r and r + half of the slice against four activation
     * rows (the last repeated for n = 3), sixteen accumulators, summed from {@code lanes} into eight sums. JMH
     * 5632x2048 on the Zen 4 EPYC against the one-row four-activation kernel, three interleaved rounds, 2
     * threads: n = 3 662-720 -> 1059-1084 calls/s, n = 4 611-660 -> 955-1035 (n = 1 about 2250); 1 thread
     * n = 4 351-371 -> 457-550.
     */
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
                float d0 = fp16(s, w0 + o), d1 = fp16(s, w1 + o);
                FloatVector lo0 = bytes(s, w0 + o + 2).mul(d0), hi0 = bytes(s, w0 + o + 18).mul(d0);
                FloatVector lo1 = bytes(s, w1 + o + 2).mul(d1), hi1 = bytes(s, w1 + o + 18).mul(d1);
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

    /**
     * n = 2 as {@link #twoRowsApart}: weight rows r and r + half of the slice against both activation rows,
     * eight accumulators. The four-row kernel with its last two activation rows repeated did twice the FMAs
     * and read one row at a time. JMH 5632x2048 on the Zen 4 EPYC, 2 threads, three interleaved rounds:
     * 860-899 -> 1490-1699 calls/s, against 2237-2337 at n = 1 (2.6x -> 1.4-1.5x the time of one row).
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
            // aRJ / cRJ: weight row R against activation row J, even / odd chunks
            FloatVector a00 = FloatVector.zero(F), c00 = a00, a01 = a00, c01 = a00, a10 = a00, c10 = a00, a11 = a00, c11 = a00;
            for (int b = 0; b < blocks; b++) {
                long o = (long) b * BLOCK_BYTES;
                int xi = b * QK;
                float d0 = fp16(s, w0 + o), d1 = fp16(s, w1 + o);
                FloatVector lo0 = bytes(s, w0 + o + 2).mul(d0), hi0 = bytes(s, w0 + o + 18).mul(d0);
                FloatVector lo1 = bytes(s, w1 + o + 2).mul(d1), hi1 = bytes(s, w1 + o + 18).mul(d1);
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

    private static void rowTimesFour(MemorySegment s, long row, int blocks, float[] x, int x0, int x1, int x2, int x3,
                                     float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BLOCK_BYTES;
            int o = b * QK;
            float d = fp16(s, block);
            FloatVector lo = bytes(s, block + 2).mul(d), hi = bytes(s, block + 18).mul(d);
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

    /**
     * n = 2 on 256-bit vectors: weight rows r and r + half of the slice against both activation rows (eight
     * accumulators), as {@link #twoRowsApartEightLanes}; the four-row kernel would repeat the activation rows
     * and do twice the FMAs. The eight conversions come first in the loop body: placed between the FMAs, C2 left
     * them to the Java fallback (23 MB of garbage per call). JMH 5632x2048 on the Zen 2 EPYC, 2 threads: 699 ->
     * 964 calls/s (n = 1: 1100-1135).
     */
    private static void twoRowsApartTimesTwoEightLanes(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset,
                                                       int from, int to, float[] lanes) {
        MemorySegment s = w.data;
        int k = w.cols, m = w.rows, blocks = k / QK, half = (to - from + 1) / 2;
        for (int r0 = from; r0 < from + half; r0++) {
            int r1 = r0 + half;
            boolean pair = r1 < to;
            long w0 = w.rowOffset(r0), w1 = w.rowOffset(pair ? r1 : r0);
            // aRJ / cRJ: weight row R against activation row J, even / odd chunks
            FloatVector a00 = FloatVector.zero(F), c00 = a00, a01 = a00, c01 = a00, a10 = a00, c10 = a00, a11 = a00, c11 = a00;
            for (int b = 0; b < blocks; b++) {
                long o = (long) b * BLOCK_BYTES;
                int xi = xOffset + b * QK, x1 = xi + k;
                float d0 = fp16(s, w0 + o), d1 = fp16(s, w1 + o);
                FloatVector e0 = bytes(s, w0 + o + 2), f0 = bytes(s, w0 + o + 10), g0 = bytes(s, w0 + o + 18), h0 = bytes(s, w0 + o + 26);
                FloatVector e1 = bytes(s, w1 + o + 2), f1 = bytes(s, w1 + o + 10), g1 = bytes(s, w1 + o + 18), h1 = bytes(s, w1 + o + 26);
                FloatVector v0, v1, xa, xb;
                v0 = e0.mul(d0);
                v1 = e1.mul(d1);
                xa = FloatVector.fromArray(F, x, xi);
                xb = FloatVector.fromArray(F, x, x1);
                a00 = v0.fma(xa, a00);
                a01 = v0.fma(xb, a01);
                a10 = v1.fma(xa, a10);
                a11 = v1.fma(xb, a11);
                v0 = f0.mul(d0);
                v1 = f1.mul(d1);
                xa = FloatVector.fromArray(F, x, xi + 8);
                xb = FloatVector.fromArray(F, x, x1 + 8);
                c00 = v0.fma(xa, c00);
                c01 = v0.fma(xb, c01);
                c10 = v1.fma(xa, c10);
                c11 = v1.fma(xb, c11);
                v0 = g0.mul(d0);
                v1 = g1.mul(d1);
                xa = FloatVector.fromArray(F, x, xi + 16);
                xb = FloatVector.fromArray(F, x, x1 + 16);
                a00 = v0.fma(xa, a00);
                a01 = v0.fma(xb, a01);
                a10 = v1.fma(xa, a10);
                a11 = v1.fma(xb, a11);
                v0 = h0.mul(d0);
                v1 = h1.mul(d1);
                xa = FloatVector.fromArray(F, x, xi + 24);
                xb = FloatVector.fromArray(F, x, x1 + 24);
                c00 = v0.fma(xa, c00);
                c01 = v0.fma(xb, c01);
                c10 = v1.fma(xa, c10);
                c11 = v1.fma(xb, c11);
            }
            a00.add(c00).intoArray(lanes, 0);
            a01.add(c01).intoArray(lanes, 8);
            a10.add(c10).intoArray(lanes, 16);
            a11.add(c11).intoArray(lanes, 24);
            sumTwoRowsTimesTwo(lanes, y, yOffset, m, r0, pair ? r1 : -1);
        }
    }

    /**
     * {@link #rowTimesFour} on 256-bit vectors, for {@link #eightLaneBatch}: each chunk converted and scaled once,
     * then four FMAs; the block's four conversions first (JMH 5632x2048 on the Zen 2 EPYC, 2 threads, against
     * each conversion next to its FMAs: n = 4 682 -> 743 calls/s, n = 8 300 -> 438).
     */
    private static void rowTimesFourEightLanes(MemorySegment s, long row, int blocks, float[] x, int x0, int x1, int x2,
                                               int x3, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BLOCK_BYTES;
            int o = b * QK;
            float d = fp16(s, block);
            FloatVector e = bytes(s, block + 2), f = bytes(s, block + 10), g = bytes(s, block + 18), h = bytes(s, block + 26);
            FloatVector q = e.mul(d);
            a0 = q.fma(FloatVector.fromArray(F, x, x0 + o), a0);
            a1 = q.fma(FloatVector.fromArray(F, x, x1 + o), a1);
            a2 = q.fma(FloatVector.fromArray(F, x, x2 + o), a2);
            a3 = q.fma(FloatVector.fromArray(F, x, x3 + o), a3);
            q = f.mul(d);
            c0 = q.fma(FloatVector.fromArray(F, x, x0 + o + 8), c0);
            c1 = q.fma(FloatVector.fromArray(F, x, x1 + o + 8), c1);
            c2 = q.fma(FloatVector.fromArray(F, x, x2 + o + 8), c2);
            c3 = q.fma(FloatVector.fromArray(F, x, x3 + o + 8), c3);
            q = g.mul(d);
            a0 = q.fma(FloatVector.fromArray(F, x, x0 + o + 16), a0);
            a1 = q.fma(FloatVector.fromArray(F, x, x1 + o + 16), a1);
            a2 = q.fma(FloatVector.fromArray(F, x, x2 + o + 16), a2);
            a3 = q.fma(FloatVector.fromArray(F, x, x3 + o + 16), a3);
            q = h.mul(d);
            c0 = q.fma(FloatVector.fromArray(F, x, x0 + o + 24), c0);
            c1 = q.fma(FloatVector.fromArray(F, x, x1 + o + 24), c1);
            c2 = q.fma(FloatVector.fromArray(F, x, x2 + o + 24), c2);
            c3 = q.fma(FloatVector.fromArray(F, x, x3 + o + 24), c3);
        }
        a0.add(c0).intoArray(lanes, 0);
        a1.add(c1).intoArray(lanes, 8);
        a2.add(c2).intoArray(lanes, 16);
        a3.add(c3).intoArray(lanes, 24);
    }

    private static FloatVector bytes(MemorySegment s, long offset) {
        return (FloatVector) ByteVector.fromMemorySegment(B, s, offset, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
    }

    private static final Int8Matmul.Kernels INT8 = new Q8_0Int8Kernels();

    @Override
    Int8Matmul.Kernels int8Kernels() {
        return INT8;
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
