package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The machine's streaming read rate as the kernels meet it: a vectorized float sum over an off-heap buffer far
 * larger than the caches, split over a {@link ComputePool}'s threads like a matmul's rows. Decoding reads every
 * weight once per token, so this is the ceiling a decode's effective GB/s is held against ({@code pipeinfer
 * bench --bandwidth} and the first line of the JMH kernel report, which sum the same way).
 */
public final class ReadBandwidth {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** The split's unit: a contiguous megabyte per job slice. */
    static final int CHUNK = 1 << 20;

    /** Keeps the sums observable, so that the JIT cannot drop the reads. */
    private static volatile float sink;

    private ReadBandwidth() {}

    /**
     * Allocates {@code bytes} (whole megabytes, at least one) off the heap, writes every page once, sums the
     * buffer once untimed and then {@code passes} times timed with the pool's threads, frees it, and returns
     * the median rate in GB/s (10^9 bytes a second).
     */
    public static double gbPerSecond(ComputePool pool, long bytes, int passes) {
        if (passes < 1) throw new IllegalArgumentException("passes must be at least 1, not " + passes);
        long size = Math.max(1, bytes / CHUNK) * CHUNK;
        int chunks = Math.toIntExact(size / CHUNK);
        float[] sums = new float[pool.threads()];
        double[] rates = new double[passes];
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(size, 64);
            for (long o = 0; o < size; o += 4096) buffer.set(ValueLayout.JAVA_FLOAT, o, 1f); // every page resident
            ComputePool.RangeJob job = (worker, from, to) -> sums[worker] += sum(buffer, (long) from * CHUNK, (long) to * CHUNK);
            pool.run(chunks, 1, job);
            for (int p = 0; p < passes; p++) {
                long start = System.nanoTime();
                pool.run(chunks, 1, job);
                rates[p] = size / ((System.nanoTime() - start) / 1e9) / 1e9;
            }
        }
        float total = 0;
        for (float s : sums) total += s;
        sink = total;
        Arrays.sort(rates);
        return rates[passes / 2];
    }

    /** The float sum of {@code s[from .. to)} (a whole number of four vectors), in four vector accumulators. */
    public static float sum(MemorySegment s, long from, long to) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        long step = F.vectorByteSize();
        for (long o = from; o < to; o += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, s, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(F, s, o + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(F, s, o + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(F, s, o + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }
}
