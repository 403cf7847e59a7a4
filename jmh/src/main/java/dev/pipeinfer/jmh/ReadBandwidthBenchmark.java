package dev.pipeinfer.jmh;

import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.tensor.ReadBandwidth;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * The machine's read bandwidth, measured the way the kernels read: a vectorized float sum over a 1 GiB
 * off-heap buffer ({@link ReadBandwidth#sum}), split over the same {@link ComputePool} threads. The
 * yardstick for the matmul GB/s.
 * Secondary score {@code weightBytes} (bytes/s, via {@link MatmulBenchmark.Bytes}) = ops/s x 1 GiB.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class ReadBandwidthBenchmark {
    static final long SIZE = 1L << 30;
    static final int CHUNK = 1 << 20;

    @Param({"1", "2"})
    public int threads;

    Arena arena;
    MemorySegment buffer;
    ComputePool pool;
    final float[] sums = new float[64];

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        buffer = arena.allocate(SIZE, 64);
        for (long o = 0; o < SIZE; o += 4096) buffer.set(java.lang.foreign.ValueLayout.JAVA_FLOAT, o, 1f); // touch every page
        pool = new ComputePool(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float read(MatmulBenchmark.Bytes bytes) {
        pool.run((int) (SIZE / CHUNK), 1, (worker, from, to) -> sums[worker] = ReadBandwidth.sum(buffer, (long) from * CHUNK, (long) to * CHUNK));
        bytes.weightBytes += SIZE;
        return sums[0] + sums[1];
    }
}
