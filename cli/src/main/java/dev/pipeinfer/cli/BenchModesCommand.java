package dev.pipeinfer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.speculation.DecodeMetrics;
import dev.pipeinfer.speculation.Decoder;
import dev.pipeinfer.speculation.DraftModel;
import dev.pipeinfer.speculation.GenerationRequest;
import dev.pipeinfer.speculation.GenerationResult;
import dev.pipeinfer.speculation.TokenListener;
import dev.pipeinfer.transformer.sampling.SamplingParams;
import dev.pipeinfer.transformer.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pipeinfer bench-modes}: iterative, speculative and pipeinfer decoding of the same prompt on the
 * same pipeline, greedy (so all three produce the same text, which is checked), each repeated; one table
 * of medians with the speedups over iterative and over speculative.
 */
@Command(name = "bench-modes",
        description = {"Compare the decoding modes on one pipeline: tokens/s, time to first token, inter-token latency,",
                "acceptance and cancelled runs (medians over --repeat runs after an untimed warm-up, see",
                "--warm-up; greedy, end-of-text ignored), and how many cores the process kept busy (its CPU time",
                "over the wall time, with the draft and any local stages)."},
        footer = {"", "Example:",
                "  pipeinfer bench-modes --model testdata/models/stories260K.gguf --draft testdata/models/stories260K-Q4_0.gguf \\",
                "      --local-stages 2 --local-transport tcp --link-latency 1 --link-bandwidth 1000"})
final class BenchModesCommand implements Callable<Integer> {
    private static final List<String> MODES = List.of("iterative", "speculative", "pipeinfer");

    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "The target model (GGUF).")
    Path model;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "The prompt (default: ${DEFAULT-VALUE}).")
    String prompt = "Once upon a time";

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N", description = "Tokens to generate per run (default ${DEFAULT-VALUE}).")
    int tokens = 128;

    @Option(names = "--repeat", paramLabel = "N", description = "Runs per mode; the table shows medians (default ${DEFAULT-VALUE}).")
    int repeat = 3;

    @Option(names = "--warm-up", paramLabel = "SECONDS", description = {
            "Untimed warm-up: every mode in turn for this long (each at least once), then each mode alone for",
            "this long again right before its timed runs, so that the JIT has compiled that mode's paths",
            "(default ${DEFAULT-VALUE})."})
    double warmUpSeconds = 3;

    @Option(names = "--json", description = "Print {\"modes\": [metrics, ...]} instead of the table.")
    boolean json;

    @Mixin
    StageOptions stages = new StageOptions();

    @Mixin
    SpeculationOptions speculation = new SpeculationOptions();

    @Override
    public Integer call() throws Exception {
        if (speculation.draft == null) throw new ErrorReporting.UsageError("bench-modes needs --draft FILE");
        if (repeat < 1 || tokens < 1) throw new ErrorReporting.UsageError("--repeat and -n must be at least 1");
        if (!(warmUpSeconds >= 0 && warmUpSeconds <= 3600)) throw new ErrorReporting.UsageError("--warm-up must be in [0, 3600] seconds");
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Map<String, Object>> rows = new ArrayList<>();
        try (TargetPipeline target = TargetPipeline.open(model, stages, err::println);
             DraftModel draft = speculation.openDraft(target, stages)) {
            Tokenizer tokenizer = Tokenizer.from(target.file().metadata());
            int[] ids = tokenizer.encode(prompt, true, false);
            GenerationRequest request = new GenerationRequest(ids, tokens, SamplingParams.greedy(), t -> false);
            int[] reference = null;
            // Untimed warm-up, every mode in turn (so that the compiled code has seen all of them), then each mode
            // alone right before its timed runs: with a small model the JIT is still compiling a mode's paths
            // during its first generations, and on two cores the compiler thread takes CPU from the stages and
            // the draft (stories260K over two 1 ms stages, 100 runs per mode after 3 s of the first warm-up only:
            // medians of runs 1-15 against 16-100, speculative 1007 against 1053-1114 tokens/s, pipeinfer 1448
            // against 1531-1727; the C2 thread busy 12-21 % of a core at run 10 and under 1 % at run 60).
            Duration warmUp = Duration.ofMillis(Math.round(warmUpSeconds * 1000));
            BenchCommand.warmUp(warmUp, () -> {
                for (String mode : MODES) generateUntimed(SpeculationOptions.decoder(mode, target, draft, speculation.params()), request);
            });
            for (String mode : MODES) {
                Decoder decoder = SpeculationOptions.decoder(mode, target, draft, speculation.params());
                long warmUntil = System.nanoTime() + warmUp.toNanos();
                while (System.nanoTime() < warmUntil) generateUntimed(decoder, request);
                List<DecodeMetrics> runs = new ArrayList<>();
                long cpuBefore = PROCESS.getProcessCpuTime(), wallBefore = System.nanoTime();
                for (int r = 0; r < repeat; r++) {
                    GenerationResult result = decoder.generate(request, TokenListener.NONE);
                    if (reference == null) reference = result.tokens();
                    else if (!Arrays.equals(reference, result.tokens())) {
                        throw new IllegalStateException(mode + " produced different tokens than iterative decoding");
                    }
                    runs.add(result.metrics());
                    if (!json) err.printf("%s run %d: %.1f tokens/s%n", mode, r + 1, result.metrics().generatedTokensPerSecond());
                }
                long cpu = PROCESS.getProcessCpuTime() - cpuBefore, wall = System.nanoTime() - wallBefore;
                double cpuMs = cpu / 1e6 / repeat; // (the OS counts in 10 ms ticks)
                Map<String, Object> row = medians(runs);
                row.put("process_cpu_ms", Math.round(cpuMs * 1000) / 1000.0);
                // over all the mode's runs: CPU per run against the median run's wall time overstates it
                // when some runs are slow (seen: 2.9 cores on a 2-core machine)
                row.put("process_cores", Math.round((double) cpu / wall * 1000) / 1000.0);
                rows.add(row);
            }
        }
        addSpeedups(rows);
        if (json) {
            out.println(new ObjectMapper().writeValueAsString(Map.of("modes", rows)));
        } else {
            printTable(out, rows);
        }
        out.flush();
        return ErrorReporting.OK;
    }

    private static void generateUntimed(Decoder decoder, GenerationRequest request) {
        try {
            decoder.generate(request, TokenListener.NONE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while warming up", e);
        }
    }

    /** Per metric, the median over the runs (counts too); the first run's map gives the keys. */
    static Map<String, Object> medians(List<DecodeMetrics> runs) {
        Map<String, Object> first = runs.getFirst().asMap();
        Map<String, Object> m = new LinkedHashMap<>();
        for (String key : first.keySet()) {
            Object v = first.get(key);
            if (v instanceof Number) {
                double[] xs = runs.stream().mapToDouble(r -> ((Number) r.asMap().get(key)).doubleValue()).toArray();
                m.put(key, Math.round(median(xs) * 1000) / 1000.0);
            } else {
                m.put(key, v);
            }
        }
        m.put("repeats", runs.size());
        return m;
    }

    private static double median(double[] values) {
        double[] xs = values.clone();
        Arrays.sort(xs);
        return xs.length % 2 == 1 ? xs[xs.length / 2] : (xs[xs.length / 2 - 1] + xs[xs.length / 2]) / 2;
    }

    /**
     * CPU time of this whole process (the head, its draft and any local stages), per generation: against the
     * wall time it says how many cores a mode keeps busy, i.e. how close it runs to the machine's limit.
     */
    private static final com.sun.management.OperatingSystemMXBean PROCESS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    private static void addSpeedups(List<Map<String, Object>> rows) {
        ToDoubleFunction<Map<String, Object>> speed = r -> ((Number) r.get("generated_tokens_per_s")).doubleValue();
        double iterative = speed.applyAsDouble(rows.get(0)), speculative = speed.applyAsDouble(rows.get(1));
        for (Map<String, Object> r : rows) {
            r.put("speedup_vs_iterative", Math.round(speed.applyAsDouble(r) / iterative * 1000) / 1000.0);
            r.put("speedup_vs_speculative", Math.round(speed.applyAsDouble(r) / speculative * 1000) / 1000.0);
        }
    }

    private static void printTable(PrintWriter out, List<Map<String, Object>> rows) {
        out.printf("%-12s %9s %9s %9s %9s %9s %8s %6s %6s %9s %9s %9s %6s %8s %8s%n", "mode", "tokens/s", "ttft ms", "itl mean",
                "itl p50", "itl p95", "accept", "runs", "cancel", "stage ms", "wasted ms", "draft ms", "cores", "vs iter", "vs spec");
        for (Map<String, Object> r : rows) {
            out.printf("%-12s %9.1f %9.2f %9.2f %9.2f %9.2f %8.3f %6.0f %6.0f %9.1f %9.1f %9.1f %6.2f %7.2fx %7.2fx%n", r.get("mode"),
                    d(r, "generated_tokens_per_s"), d(r, "ttft_ms"), d(r, "itl_ms_mean"), d(r, "itl_ms_p50"),
                    d(r, "itl_ms_p95"), d(r, "acceptance_rate"), d(r, "runs_launched"), d(r, "runs_cancelled"),
                    d(r, "stage_compute_ms"), d(r, "cancelled_compute_ms"), d(r, "draft_ms"),
                    d(r, "process_cores"), d(r, "speedup_vs_iterative"), d(r, "speedup_vs_speculative"));
        }
    }

    private static double d(Map<String, Object> r, String key) {
        return ((Number) r.get(key)).doubleValue();
    }
}
