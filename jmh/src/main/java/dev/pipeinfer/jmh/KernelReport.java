package dev.pipeinfer.jmh;

import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The representative kernel report (about 10 minutes): read bandwidth at 1 and 2 threads; matmul GB/s of
 * weights for every type at n = 1 on one shape (default 5632x2048, an FFN matrix) at 1 and 2 threads;
 * and for Q4_0, Q8_0, F16 and Q4_K the time of n = 2, 4, 8, 16 relative to n = 1; all of it again for Q8_0
 * and Q4_0 on int8 activations (rows "Q8_0 int8", "Q4_0 int8"; the other rows are f32). Every figure is the
 * <b>median</b> of the measurement iterations (this machine is shared; 2-thread runs sometimes drop to
 * 1-thread speed, so means mislead).
 *
 * <p>GB/s = weightBytes counter / 1e9 = calls/s x matrix bytes / 1e9 (see {@link MatmulBenchmark}).
 * Relative time of n = ops/s(n=1) / ops/s(n).
 *
 * <p>Run: {@code jmh/run-benchmarks.sh} (builds, then runs this class on JDK 25). Arguments: optional
 * shape (e.g. {@code 4544x4544}).
 */
public final class KernelReport {
    static final String[] ALL_TYPES = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"};
    static final String[] BATCH_TYPES = {"Q4_0", "Q8_0", "F16", "Q4_K"};
    /** The types with int8-activation kernels, measured in that mode too (rows labelled "Q4_0 int8"). */
    static final String[] INT8_TYPES = {"Q8_0", "Q4_0"};

    private KernelReport() {}

    public static void main(String[] args) throws RunnerException {
        String shape = args.length > 0 ? args[0] : "5632x2048";
        long start = System.nanoTime();

        Map<String, Double> read = new LinkedHashMap<>();
        for (RunResult r : run(base().include(ReadBandwidthBenchmark.class.getName() + ".read")
                .measurementTime(TimeValue.seconds(2)).param("threads", "1", "2"))) {
            read.put(r.getParams().getParam("threads"), medianGBs(r));
        }

        Map<String, Double> gbs = new LinkedHashMap<>();
        Map<String, Double> opsPerSecond = new LinkedHashMap<>();
        collect(run(base().include(MatmulBenchmark.class.getName() + ".matmul").param("type", ALL_TYPES)
                .param("shape", shape).param("n", "1").param("threads", "1", "2")), gbs, opsPerSecond);
        collect(run(base().include(MatmulBenchmark.class.getName() + ".matmul").param("type", BATCH_TYPES)
                .param("shape", shape).param("n", "2", "4", "8", "16").param("threads", "1", "2")), gbs, opsPerSecond);
        collect(run(base().include(MatmulBenchmark.class.getName() + ".matmul").param("type", INT8_TYPES)
                .param("activations", "int8").param("shape", shape).param("n", "1", "2", "4", "8", "16")
                .param("threads", "1", "2")), gbs, opsPerSecond);

        System.out.println();
        System.out.printf("Kernel report, shape %s (m x k), medians of %d iterations; %.1f min%n", shape, ITERATIONS,
                (System.nanoTime() - start) / 60e9);
        System.out.printf("Read bandwidth (1 GiB, vector sum): 1 thread %.1f GB/s, 2 threads %.1f GB/s%n%n", read.get("1"), read.get("2"));
        System.out.println("| type | n=1, 1 thread GB/s | % of read bw | n=1, 2 threads GB/s | % of read bw |");
        System.out.println("|---|---|---|---|---|");
        for (String t : rows(ALL_TYPES)) {
            double g1 = gbs.getOrDefault(key(t, 1, 1), Double.NaN), g2 = gbs.getOrDefault(key(t, 1, 2), Double.NaN);
            System.out.printf("| %s | %.2f | %.0f%% | %.2f | %.0f%% |%n", t, g1, 100 * g1 / read.get("1"), g2, 100 * g2 / read.get("2"));
        }
        System.out.println();
        System.out.println("Time per call relative to n=1 (same type and threads):");
        System.out.println("| type | threads | n=2 | n=4 | n=8 | n=16 |");
        System.out.println("|---|---|---|---|---|---|");
        for (String t : rows(BATCH_TYPES)) {
            for (int threads = 1; threads <= 2; threads++) {
                StringBuilder row = new StringBuilder("| " + t + " | " + threads + " |");
                double one = opsPerSecond.getOrDefault(key(t, 1, threads), Double.NaN);
                for (int n : new int[] {2, 4, 8, 16}) {
                    row.append(String.format(" %.2f |", one / opsPerSecond.getOrDefault(key(t, n, threads), Double.NaN)));
                }
                System.out.println(row);
            }
        }
    }

    static final int ITERATIONS = 5;

    static ChainedOptionsBuilder base() {
        return new OptionsBuilder().warmupIterations(2).warmupTime(TimeValue.seconds(1))
                .measurementIterations(ITERATIONS).measurementTime(TimeValue.seconds(1)).forks(1)
                .shouldFailOnError(true);
    }

    static Collection<RunResult> run(ChainedOptionsBuilder options) throws RunnerException {
        return new Runner(options.build()).run();
    }

    /** The report's row labels: the types, then the int8-activation rows. */
    static List<String> rows(String[] types) {
        List<String> rows = new ArrayList<>(Arrays.asList(types));
        for (String t : INT8_TYPES) rows.add(t + " int8");
        return rows;
    }

    static String key(String type, int n, int threads) {
        return type + "/" + n + "/" + threads;
    }

    static void collect(Collection<RunResult> results, Map<String, Double> gbs, Map<String, Double> ops) {
        for (RunResult r : results) {
            String label = r.getParams().getParam("type")
                    + ("int8".equals(r.getParams().getParam("activations")) ? " int8" : "");
            String k = key(label, Integer.parseInt(r.getParams().getParam("n")),
                    Integer.parseInt(r.getParams().getParam("threads")));
            gbs.put(k, medianGBs(r));
            ops.put(k, median(r, null));
        }
    }

    static double medianGBs(RunResult r) {
        return median(r, "weightBytes") / 1e9;
    }

    /** Median over measurement iterations of the primary score (label null) or a secondary one. */
    static double median(RunResult r, String secondary) {
        List<Double> scores = new ArrayList<>();
        for (BenchmarkResult b : r.getBenchmarkResults()) {
            for (IterationResult it : b.getIterationResults()) {
                Result<?> res = secondary == null ? it.getPrimaryResult() : it.getSecondaryResults().get(secondary);
                scores.add(res.getScore());
            }
        }
        double[] s = scores.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (s.length == 0) return Double.NaN;
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static {
        assert Arrays.asList(ALL_TYPES).containsAll(Arrays.asList(BATCH_TYPES));
    }
}
