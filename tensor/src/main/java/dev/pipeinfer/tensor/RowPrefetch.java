package dev.pipeinfer.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Software prefetch for kernels that walk four weight rows side by side.
 *
 * <p>A kernel that reads one row at a time reads memory as one sequential stream, which the hardware
 * prefetcher follows at full bandwidth. Four rows side by side are four short streams (a few KiB each)
 * that start afresh every group of rows, and there the prefetcher falls behind: on a Zen 5 EPYC, Q4_0's
 * four-row n = 1 kernel ran twice as fast with its weights in cache as with them in DRAM. The Vector API
 * has no prefetch instruction, so such a kernel loads, with each block it computes, one byte of the next
 * group of rows, at the same relative place (the next group is as long as this one); the loads' sum goes
 * to a sink ({@link KernelScratch#prefetched}) so that C2 keeps them. Measured there, 5632x2048 in JMH:
 * 4-row Q4_0 from 874 to 1518 calls/s on one thread. It is not a general cure: the same touches made
 * Q8_0's four-row kernel 2x slower and the tiled path 8-20 % slower, so only the kernels measured to gain
 * use it. A kernel reading one row at a time can outrun the prefetcher on long rows too: the n = 1 kernels
 * of Q4_K, Q5_K ({@link FactoredKernels}), Q6_K and Q3_K ({@link QuarterScaledKernels}) touch every cache line
 * {@link #AHEAD_ROWS} rows ahead.
 */
final class RowPrefetch {
    private RowPrefetch() {}

    /** The byte at {@code address}, clipped to {@code lastByte} (the segment's last byte of weights). */
    static int touch(MemorySegment s, long address, long lastByte) {
        return s.get(ValueLayout.JAVA_BYTE, Math.min(address, lastByte));
    }

    /**
     * The byte at {@code address}, which the caller keeps inside the weights (a kernel touching a row ahead
     * passes no distance for the last rows); without the clipping, an address linear in the loop counter lets
     * C2 hoist the bounds check, as for the kernel's own loads.
     */
    static int touch(MemorySegment s, long address) {
        return s.get(ValueLayout.JAVA_BYTE, address);
    }

    /**
     * How far ahead the one-row-at-a-time n = 1 kernels touch the weights, in rows. One row at a time is one
     * memory stream, but a fast kernel catches up with the hardware prefetcher on long rows: without the
     * touches, JMH on the Zen 2 EPYC, 1 thread, 2048x5632 ran at 416-424 calls/s (the kernel before Q4_K's factored form:
     * 450-454), with them 588 (1, 2, 4 and 8 rows ahead: 593, 574, 588, 588); 5632x2048 587 -> 599 (1 and 2
     * rows ahead cost 5 %). A 1.1B Q4_K model (`bench -t 1,2 --batch 1 -n 32 -p 0 -r 3`, two interleaved rounds
     * against the kernel before Q4_K's factored form) 4.90-4.94 -> 6.07-6.09 tokens/s on 1 thread, 9.23-9.34 -> 9.79-11.50
     * on 2.
     */
    static final int AHEAD_ROWS = 4;

    /**
     * The distance in bytes from row r to the row {@link #AHEAD_ROWS} on, or 0 near the end (a kernel then touches
     * its own row), so that the touches stay inside the weights unclipped.
     */
    static long aheadBytes(WeightMatrix w, int r) {
        return r + AHEAD_ROWS < w.rows ? w.rowOffset(r + AHEAD_ROWS) - w.rowOffset(r) : 0;
    }
}
