package dev.pipeinfer.jmh;

import dev.pipeinfer.gguf.GgmlType;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.tensor.Matmul;
import dev.pipeinfer.tensor.MatmulActivations;
import dev.pipeinfer.tensor.WeightMatrix;
import org.openjdk.jmh.annotations.AuxCounters;
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

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * {@code Y[n x m] = X[n x k] W^T} for W of one type and shape, at n activation rows and a given number of
 * pool threads.
 *
 * <p><b>Bandwidth, not cache speed:</b> the setup allocates as many copies of the matrix (random weights,
 * off-heap) as it takes to exceed 512 MiB, and each call uses the next copy, so the weights come from
 * DRAM as they do in a real forward pass. {@code -Dpipeinfer.jmh.workingSetMiB=0} keeps just two copies
 * instead: with a small shape they stay in cache, which separates what a kernel computes from what the memory
 * delivers. Pass it as {@code -jvmArgsAppend "--add-modules jdk.incubator.vector -Dpipeinfer.jmh.workingSetMiB=0"}:
 * JMH's {@code -jvmArgsAppend} replaces the fork's own arguments, the Vector API module among them.
 *
 * <p><b>Mapped, as in the engine:</b> by default ({@code memory=mapped}) the copies are written to a temporary
 * file and mapped read-only, so the kernels see the same {@code MemorySegment} implementation as when they
 * read a GGUF file. This matters: C2 inlines and scalar-replaces differently for mapped and native
 * segments, and a kernel that has seen both kinds can fall back to boxed vectors. {@code memory=native}
 * uses off-heap {@code Arena.allocate} segments instead.
 *
 * <p><b>Metric:</b> the primary score is calls per second. The secondary score {@code weightBytes} is
 * counted per call as the matrix's byte size, so JMH reports it in bytes/s: <b>GB/s of weights =
 * weightBytes / 1e9 = ops/s x (m x rowBytes) / 1e9</b>. With n > 1 each call still reads the weights once.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class MatmulBenchmark {
    static final long WORKING_SET = Long.getLong("pipeinfer.jmh.workingSetMiB", 512) << 20;

    @Param({"Q4_0", "Q8_0", "F16", "Q4_K", "Q5_K", "Q6_K"})
    public String type;

    /** rows x cols (m x k): Llama-1B-ish q/o, up/gate, down, Falcon-7B, output. */
    @Param({"2048x2048", "5632x2048", "2048x5632", "4544x4544", "32000x2048"})
    public String shape;

    @Param({"1", "2", "4", "8", "16"})
    public int n;

    @Param({"1", "2"})
    public int threads;

    /** f32, or int8 as llama.cpp (only Q8_0 and Q4_0 have int8 kernels; other types ignore it). */
    @Param({"f32"})
    public String activations;

    /** mapped (a read-only file mapping, as the engine uses) or native (Arena.allocate). */
    @Param({"mapped"})
    public String memory;

    Arena arena;
    ComputePool pool;
    MatmulActivations mode;
    WeightMatrix[] copies;
    long matrixBytes;
    float[] x, y;
    int next;

    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Bytes {
        /** Weight bytes read; reported per second. */
        public long weightBytes;
    }

    @Setup(Level.Trial)
    public void setUp() {
        GgmlType t = GgmlType.valueOf(type);
        String[] mk = shape.split("x");
        int m = Integer.parseInt(mk[0]), k = Integer.parseInt(mk[1]);
        matrixBytes = t.rowBytes(k) * m;
        int count = (int) Math.max(2, (WORKING_SET + matrixBytes - 1) / matrixBytes);
        arena = Arena.ofShared();
        MemorySegment all = switch (memory) {
            case "native" -> randomCopies(t, arena.allocate(matrixBytes * count, 64), count);
            case "mapped" -> mappedRandomCopies(t, count);
            default -> throw new IllegalArgumentException("memory must be mapped or native: " + memory);
        };
        copies = new WeightMatrix[count];
        for (int i = 0; i < count; i++) {
            copies[i] = new WeightMatrix(t, all.asSlice(i * matrixBytes, matrixBytes), m, k);
        }
        Random random = new Random(1);
        x = new float[n * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        y = new float[n * m];
        pool = new ComputePool(threads);
        mode = MatmulActivations.parse(activations);
    }

    private MemorySegment randomCopies(GgmlType t, MemorySegment all, int count) {
        for (int i = 0; i < count; i++) RandomWeights.fill(t, all.asSlice(i * matrixBytes, matrixBytes), 1000 + i);
        return all;
    }

    /**
     * Fills a temporary file through a writable mapping, then maps it read-only as GgufFile does. The file is
     * deleted as soon as it is mapped (the mapping keeps its pages), so a fork that dies leaves nothing behind.
     */
    private MemorySegment mappedRandomCopies(GgmlType t, int count) {
        long bytes = matrixBytes * count;
        Path file = null;
        try {
            file = Files.createTempFile("pipeinfer-jmh-", ".weights");
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
                 Arena writing = Arena.ofConfined()) {
                randomCopies(t, channel.map(FileChannel.MapMode.READ_WRITE, 0, bytes, writing), count);
            }
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                return channel.map(FileChannel.MapMode.READ_ONLY, 0, bytes, arena);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the mapped weights in " + file, e);
        } finally {
            try {
                if (file != null) Files.deleteIfExists(file);
            } catch (IOException e) {
                System.err.println("could not delete " + file + ": " + e.getMessage());
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float matmul(Bytes bytes) {
        WeightMatrix w = copies[next];
        next = next + 1 == copies.length ? 0 : next + 1;
        Matmul.matmul(w, x, 0, n, y, 0, pool, mode);
        bytes.weightBytes += matrixBytes;
        return y[0];
    }
}
