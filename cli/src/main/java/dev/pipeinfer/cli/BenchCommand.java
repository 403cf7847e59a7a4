package dev.pipeinfer.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.GgufTensor;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.tensor.MatmulActivations;
import dev.pipeinfer.tensor.ReadBandwidth;
import dev.pipeinfer.transformer.Batch;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOptions;
import dev.pipeinfer.transformer.SliceOutput;
import dev.pipeinfer.transformer.kv.KvCache;
import dev.pipeinfer.transformer.kv.KvType;
import dev.pipeinfer.transformer.model.ModelConfig;
import dev.pipeinfer.transformer.sampling.Sampler;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pipeinfer bench}: llama-bench's prompt-processing and generation speeds, plus what speculative
 * decoding depends on: how much a forward pass of k tokens costs compared with one token.
 *
 * <p>Decode on a CPU is bound by reading the weights: every token streams every matrix once. So the
 * decode rows also give the effective bandwidth, (bytes of the 2-D weight tensors, except the token
 * embedding which is only row-gathered) x tokens/s, to compare with the machine's streaming-read rate.
 * And because the weights are mapped, not copied, the process's resident set should be the model file's
 * pages plus the KV cache plus a small constant; the memory lines show that.
 *
 * <p>Each timing is the median of --repeat runs after a warm-up. The one-minute load average is printed
 * beside every row, since on a shared machine the numbers mean little without it.
 */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        description = {"Measure prompt processing and decode speed (as llama-bench), the cost of a k-token forward pass "
                + "relative to one token, effective weight bandwidth, and memory use."},
        footer = {"", "Examples:",
                "  pipeinfer bench --model tinyllama-q4_0.gguf --threads 1,2",
                "  pipeinfer bench --model M -p 32 -n 16 --batch 1,4,8 --repeat 3 --json"},
        sortOptions = false)
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "The model (GGUF).")
    Path model;

    @Option(names = {"-p", "--n-prompt"}, paramLabel = "N", description = "Prompt tokens evaluated in one pass; 0 skips the test (default ${DEFAULT-VALUE}).")
    int promptTokens = 64;

    @Option(names = {"-n", "--n-gen"}, paramLabel = "N", description = "Tokens decoded one at a time; 0 skips the test (default ${DEFAULT-VALUE}).")
    int genTokens = 64;

    @Option(names = {"-t", "--threads"}, split = ",", paramLabel = "LIST", description = "Thread counts to measure, e.g. 1,2 (default: the number of cores).")
    List<Integer> threads = List.of(LocalModel.defaultThreads());

    @Option(names = "--batch", paramLabel = "LIST", description = "Tokens per pass for the batch-cost rows; empty (--batch '') skips them (default ${DEFAULT-VALUE}).")
    String batchList = "1,2,4,8";

    @Option(names = "--batch-context", paramLabel = "N", description = "Tokens already in the cache when a batch pass is timed (default ${DEFAULT-VALUE}).")
    int batchContext = 32;

    @Option(names = {"-r", "--repeat"}, paramLabel = "N", description = "Timed repetitions per test; the median is reported (default ${DEFAULT-VALUE}).")
    int repeat = 5;

    @Option(names = "--kv-type", paramLabel = "TYPE", description = "KV cache storage, f16 or f32 (default ${DEFAULT-VALUE}, as llama.cpp).")
    String kvType = "f16";

    @Option(names = "--activations", paramLabel = "auto|int8|f32",
            description = "Weight matmuls on int8-rounded activations as llama.cpp (int8) or on f32 ones; auto picks "
                    + "int8 on 256-bit vector CPUs, f32 on wider ones (default ${DEFAULT-VALUE}).")
    String activations = "auto";

    @Option(names = "--bandwidth", paramLabel = "MiB", arity = "0..1", fallbackValue = "1024",
            description = {"Also measure the machine's read bandwidth at each thread count (a vectorized sum over a buffer "
                    + "of MiB megabytes, 1024 if not given, as the JMH kernel report does) and hold each decode row's "
                    + "GB/s against it. Decoding reads every weight once per token, so that share is how close the "
                    + "kernels come to the memory's limit. Off by default: it takes the buffer's memory for a moment."})
    Integer bandwidthMiB;

    @Option(names = "--json", description = "Print one JSON object: the model's sizes, memory, and {\"rows\": [...]}.")
    boolean json;

    /**
     * One measurement. Fields that do not apply to a test are null (and left out of the JSON).
     *
     * @param test        "prompt", "decode" or "batch"
     * @param n           tokens: of the prompt, decoded, or per pass
     * @param msPerPass   batch rows: median time of one forward pass of n tokens
     * @param costVs1     batch rows: msPerPass divided by that of a 1-token pass at the same context
     * @param gbPerS      decode rows: weight bytes read per token x tokens/s / 1e9
     * @param readGbPerS  decode rows, with --bandwidth: the machine's read bandwidth at these threads
     * @param bandwidthShare decode rows, with --bandwidth: gbPerS / readGbPerS
     * @param loadAverage the one-minute load average when the row finished
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Row(String test, int threads, int n, double tokensPerS, double msPerToken, Double msPerPass, Double costVs1,
               Double gbPerS, Double readGbPerS, Double bandwidthShare, int repeats, double loadAverage) {
        Row withReadBandwidth(double read) {
            return gbPerS == null ? this : new Row(test, threads, n, tokensPerS, msPerToken, msPerPass, costVs1, gbPerS,
                    read, gbPerS / read, repeats, loadAverage);
        }
    }

    /** What the memory lines report. */
    record Memory(long mappedWeightBytes, long weightBytesPerToken, long kvCacheBytes, String kvType, int contextCells,
                  ProcessMemory afterLoad, ProcessMemory afterRun) {}

    record Report(String model, String architecture, int layers, String activations, Memory memory, List<Row> rows) {}

    @Override
    public Integer call() throws Exception {
        validate();
        KvType kv = LocalModel.kvType(kvType);
        MatmulActivations mode = LocalModel.activations(activations);
        List<Integer> sizes = new ArrayList<>(new TreeSet<>(batchSizes()));
        int largestBatch = sizes.isEmpty() ? 0 : sizes.getLast();
        int cells = Math.max(1, Math.max(Math.max(promptTokens, genTokens), sizes.isEmpty() ? 0 : batchContext + largestBatch));
        List<Row> rows = new ArrayList<>();
        Report report;
        try (GgufFile file = GgufFile.open(model)) {
            ModelConfig config = ModelConfig.from(file);
            long perToken = weightBytesPerToken(file, config);
            int[] tokens = benchTokens(file, config, Math.max(Math.max(promptTokens, batchContext + largestBatch), 1));
            ProcessMemory afterLoad = null;
            long kvBytes = 0;
            for (int t : threads) {
                try (ComputePool pool = new ComputePool(t)) {
                    double read = bandwidthMiB == null ? 0 : ReadBandwidth.gbPerSecond(pool, (long) bandwidthMiB << 20, 5);
                    LayerSlice slice = LayerSlice.loadAll(file, SliceOptions.generation(cells).withKvType(kv).withActivations(mode), pool);
                    kvBytes = kvCacheBytes(slice.kvCache());
                    if (afterLoad == null) afterLoad = ProcessMemory.now(model);
                    if (promptTokens > 0) rows.add(prompt(slice, tokens, t));
                    if (genTokens > 0) {
                        Row decode = decode(slice, tokens[0], t, perToken);
                        rows.add(bandwidthMiB == null ? decode : decode.withReadBandwidth(read));
                    }
                    if (!sizes.isEmpty()) rows.addAll(batchCost(slice, tokens, sizes, t));
                }
            }
            Memory memory = new Memory(mappedBytes(file), perToken, kvBytes, kv.name(), cells, afterLoad, ProcessMemory.now(model));
            report = new Report(file.path().toString(), config.architecture().name().toLowerCase(Locale.ROOT), config.layers(), mode.label(), memory, rows);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(JSON.writeValueAsString(report));
        } else {
            printText(report, out);
        }
        out.flush();
        return ErrorReporting.OK;
    }

    private void validate() {
        if (promptTokens < 0 || genTokens < 0) throw new ErrorReporting.UsageError("-p and -n must be 0 or more");
        if (repeat < 1) throw new ErrorReporting.UsageError("--repeat must be at least 1, not " + repeat);
        if (bandwidthMiB != null && bandwidthMiB < 1) throw new ErrorReporting.UsageError("--bandwidth must be at least 1 MiB, not " + bandwidthMiB);
        if (batchContext < 1) throw new ErrorReporting.UsageError("--batch-context must be at least 1, not " + batchContext);
        if (threads.isEmpty()) throw new ErrorReporting.UsageError("--threads needs at least one thread count");
        for (int t : threads) {
            if (t < 1) throw new ErrorReporting.UsageError("--threads: every count must be at least 1, not " + t);
        }
        for (int k : batchSizes()) {
            if (k < 1) throw new ErrorReporting.UsageError("--batch: every size must be at least 1, not " + k);
        }
    }

    /** The --batch list: comma-separated sizes, or none when empty. */
    private List<Integer> batchSizes() {
        List<Integer> sizes = new ArrayList<>();
        if (batchList.isBlank()) return sizes;
        for (String item : batchList.split(",", -1)) {
            try {
                sizes.add(Integer.parseInt(item.strip()));
            } catch (NumberFormatException e) {
                throw new ErrorReporting.UsageError("--batch: '" + item + "' is not a number of tokens");
            }
        }
        return sizes;
    }

    // ---- the tests ---------------------------------------------------------------------------------------------

    /** p tokens in one pass from an empty cache, only the last token's logits wanted (llama-bench's pp). */
    private Row prompt(LayerSlice slice, int[] tokens, int threads) {
        Batch batch = Batch.sequence(Arrays.copyOf(tokens, promptTokens), 0, 0, false);
        Runnable pass = () -> {
            slice.kvCache().clear();
            slice.forward(batch);
        };
        warmUp(pass);
        double seconds = median(repeat, pass);
        return new Row("prompt", threads, promptTokens, promptTokens / seconds, seconds * 1e3 / promptTokens,
                null, null, null, null, null, repeat, ProcessMemory.loadAverage());
    }

    /** n tokens one at a time from an empty cache, each the argmax of the previous logits (llama-bench's tg). */
    private Row decode(LayerSlice slice, int firstToken, int threads, long weightBytesPerToken) {
        // Warm up over the whole context range, not only its first positions, and for longer than the
        // other tests: the attention loops at later positions are compiled from their own profile, and
        // the compiler shares the cores (stories260K, -n 128 -r 5: 2400 tokens/s after two-token warm-up
        // runs, 1300-2600 after 0.5-1 s of whole runs, 11300-12900 after 2-4 s, 12450 at -r 40). A run
        // stops early once the warm-up time is up, so that a large model's warm-up is one partial run.
        long warmUntil = System.nanoTime() + DECODE_WARM_UP.toNanos();
        do {
            decodeRun(slice, firstToken, genTokens, warmUntil);
        } while (System.nanoTime() < warmUntil);
        double seconds = median(repeat, () -> decodeRun(slice, firstToken, genTokens, Long.MAX_VALUE));
        double tokensPerS = genTokens / seconds;
        return new Row("decode", threads, genTokens, tokensPerS, seconds * 1e3 / genTokens, null, null,
                weightBytesPerToken * tokensPerS / 1e9, null, null, repeat, ProcessMemory.loadAverage());
    }

    /** Decodes {@code count} tokens from an empty cache, or fewer (at least two) once {@code stopAfter} (nanoTime) has passed. */
    private static void decodeRun(LayerSlice slice, int firstToken, int count, long stopAfter) {
        slice.kvCache().clear();
        int token = firstToken;
        for (int pos = 0; pos < count && (pos < 2 || System.nanoTime() - stopAfter < 0); pos++) {
            SliceOutput out = slice.forward(Batch.sequence(new int[] {token}, pos, 0, false));
            token = Sampler.argmax(out.data(), 0, out.width());
        }
    }

    /**
     * After a context of --batch-context tokens, one pass of k tokens at the next positions with every
     * token's logits wanted, as a speculative verification pass is; the k tokens are removed again after
     * each pass. Sizes are timed in turn within each repetition, so a change of machine load touches all
     * of them alike.
     */
    private List<Row> batchCost(LayerSlice slice, int[] tokens, List<Integer> sizes, int threads) {
        List<Integer> timed = new ArrayList<>(new TreeSet<>(sizes));
        if (timed.getFirst() != 1) timed.addFirst(1);
        slice.kvCache().clear();
        slice.forward(Batch.sequence(Arrays.copyOf(tokens, batchContext), 0, 0, false));
        Batch[] passes = new Batch[timed.size()];
        for (int i = 0; i < passes.length; i++) {
            passes[i] = Batch.sequence(Arrays.copyOfRange(tokens, batchContext, batchContext + timed.get(i)), batchContext, 0, true);
        }
        double[][] seconds = new double[passes.length][repeat];
        warmUp(() -> {
            for (Batch pass : passes) {
                slice.forward(pass);
                slice.kvCache().removeSequence(0, batchContext, -1);
            }
        });
        for (int r = 0; r < repeat; r++) {
            for (int i = 0; i < passes.length; i++) {
                long start = System.nanoTime();
                slice.forward(passes[i]);
                long end = System.nanoTime();
                slice.kvCache().removeSequence(0, batchContext, -1);
                seconds[i][r] = (end - start) / 1e9;
            }
        }
        double one = median(seconds[0]);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < passes.length; i++) {
            int k = timed.get(i);
            if (!sizes.contains(k)) continue;
            double s = median(seconds[i]);
            rows.add(new Row("batch", threads, k, k / s, s * 1e3 / k, s * 1e3, s / one, null, null, null, repeat, ProcessMemory.loadAverage()));
        }
        return rows;
    }

    /**
     * Runs {@code work} at least once and until {@code atLeast} has passed: a small model's first few hundred
     * passes run on code the JIT is still compiling (stories260K's 4-token pass measured 0.17 or 0.7 ms from
     * one run to the next after a single warm-up pass); a large model's first pass already takes that long.
     */
    static void warmUp(Duration atLeast, Runnable work) {
        long until = System.nanoTime() + atLeast.toNanos();
        do {
            work.run();
        } while (System.nanoTime() < until);
    }

    private void warmUp(Runnable work) {
        warmUp(WARM_UP, work);
    }

    private static final Duration WARM_UP = Duration.ofMillis(500);
    private static final Duration DECODE_WARM_UP = Duration.ofSeconds(2);

    private static double median(int repetitions, Runnable run) {
        double[] seconds = new double[repetitions];
        for (int r = 0; r < repetitions; r++) {
            long start = System.nanoTime();
            run.run();
            seconds[r] = (System.nanoTime() - start) / 1e9;
        }
        return median(seconds);
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int mid = v.length / 2;
        return v.length % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
    }

    // ---- sizes ---------------------------------------------------------------------------------------------------

    /**
     * Bytes of weights one token's forward pass reads: every matrix (2-D tensor) once, including the output
     * head, but not the token embedding, of which only one row is gathered, unless it is tied and so also
     * serves as the output head.
     */
    static long weightBytesPerToken(GgufFile file, ModelConfig config) {
        long total = 0;
        for (GgufTensor t : file.tensors()) {
            boolean embedding = t.name().equals("token_embd.weight");
            if (t.dimensions() >= 2 && (!embedding || config.tiedEmbeddings())) total += t.byteSize();
        }
        return total;
    }

    private static long mappedBytes(GgufFile file) {
        long total = 0;
        for (GgufTensor t : file.tensors()) total += t.byteSize();
        return total;
    }

    private static long kvCacheBytes(KvCache kv) {
        long bytesPerValue = kv.type() == KvType.F32 ? 4 : 2;
        return 2L * kv.layers() * kv.capacity() * kv.kvDim() * bytesPerValue;
    }

    /** BOS (when the vocabulary has one) and then fixed pseudo-random ids, as llama-bench uses random tokens. */
    private static int[] benchTokens(GgufFile file, ModelConfig config, int count) {
        Random random = new Random(42);
        int[] ids = new int[count];
        for (int i = 0; i < count; i++) ids[i] = random.nextInt(config.vocabSize());
        long bos = file.metadata().contains("tokenizer.ggml.bos_token_id") ? file.metadata().getLong("tokenizer.ggml.bos_token_id") : -1;
        if (bos >= 0 && bos < config.vocabSize()) ids[0] = (int) bos;
        return ids;
    }

    // ---- output ----------------------------------------------------------------------------------------------------

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private static void printText(Report r, PrintWriter out) {
        Memory m = r.memory();
        out.printf(Locale.ROOT, "model %s (%s, %d layers); %s activations%n", r.model(), r.architecture(), r.layers(), r.activations());
        out.printf(Locale.ROOT, "weights read per token %s; KV cache %s (%s, %d cells)%n%n",
                megabytes(m.weightBytesPerToken()), megabytes(m.kvCacheBytes()), m.kvType(), m.contextCells());
        out.printf(Locale.ROOT, "| %-6s | %7s | %4s | %10s | %9s | %9s | %9s | %7s | %5s |%n",
                "test", "threads", "n", "tokens/s", "ms/token", "ms/pass", "cost vs 1", "GB/s", "load");
        out.println("|--------|---------|------|------------|-----------|-----------|-----------|---------|-------|");
        for (Row row : r.rows()) {
            out.printf(Locale.ROOT, "| %-6s | %7d | %4d | %10.2f | %9.3f | %9s | %9s | %7s | %5.2f |%n",
                    row.test(), row.threads(), row.n(), row.tokensPerS(), row.msPerToken(),
                    orDash(row.msPerPass(), "%.3f"), orDash(row.costVs1(), "%.2f"), orDash(row.gbPerS(), "%.2f"), row.loadAverage());
        }
        for (Row row : r.rows()) {
            if (row.readGbPerS() == null) continue;
            out.printf(Locale.ROOT, "decode, %d thread%s: %.2f GB/s of weights, %.0f %% of the read bandwidth (%.2f GB/s)%n",
                    row.threads(), row.threads() == 1 ? "" : "s", row.gbPerS(), 100 * row.bandwidthShare(), row.readGbPerS());
        }
        out.println();
        out.printf(Locale.ROOT, "memory: mapped weights %s, KV cache %s%n", megabytes(m.mappedWeightBytes()), megabytes(m.kvCacheBytes()));
        printMemory(out, "after loading", m.afterLoad());
        printMemory(out, "after the run", m.afterRun());
    }

    private static void printMemory(PrintWriter out, String when, ProcessMemory p) {
        if (p == null) return;
        out.printf(Locale.ROOT, "  %-14s RSS %s: model file pages %s, other files %s, anonymous %s; Java heap used %s of %s committed%n",
                when, megabytes(p.rssBytes()), megabytes(p.modelRssBytes()), megabytes(p.rssFileBytes() - p.modelRssBytes()),
                megabytes(p.rssAnonBytes()), megabytes(p.heapUsedBytes()), megabytes(p.heapCommittedBytes()));
    }

    private static String megabytes(long bytes) {
        return bytes < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    private static String orDash(Double value, String format) {
        return value == null ? "-" : String.format(Locale.ROOT, format, value);
    }
}
