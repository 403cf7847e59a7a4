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
 * of Q4_K, Q5_K ({@link FactoredKernels}) and Q6_K ({@link Q6_KEightLaneKernels}) touch every cache line four
 * rows ahead ({@link FactoredKernels#AHEAD_ROWS}).
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
}
