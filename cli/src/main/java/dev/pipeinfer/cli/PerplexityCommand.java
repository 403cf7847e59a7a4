package dev.pipeinfer.cli;

import dev.pipeinfer.transformer.Batch;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOutput;
import dev.pipeinfer.transformer.kv.SequenceSet;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pipeinfer perplexity}: llama-perplexity's measure of how well a model predicts a text, computed
 * the same way so the numbers can be compared.
 *
 * <p>The whole text is tokenized (with BOS when the vocabulary adds it) and cut into chunks of n_ctx tokens;
 * a tail shorter than a chunk is dropped. Each chunk is evaluated from an empty KV cache, with its first
 * token replaced by BOS when the vocabulary adds BOS. Only the second half of a chunk is scored, so every
 * scored token has at least n_ctx/2 tokens of context: the logits at positions n_ctx/2 .. n_ctx-2 predict
 * the tokens at n_ctx/2+1 .. n_ctx-1 (n_ctx/2 - 1 predictions for an even n_ctx). The negative
 * log-likelihood of each is summed in double; PPL = exp(mean), and its error is the standard error of the
 * mean carried through exp: PPL x sqrt((mean(nll^2) - mean(nll)^2) / (count - 1)).
 */
@Command(name = "perplexity",
        mixinStandardHelpOptions = true,
        description = {"Perplexity of a model on a text file, computed as llama.cpp's llama-perplexity does.",
                "Prints the running estimate after each chunk ([1]x,[2]y,...) and then the final estimate with "
                        + "its standard error. The text must have at least 2 x ctx tokens."},
        footer = {"", "Example:", "  pipeinfer perplexity --model model.gguf --file wiki.test.raw --ctx 512"},
        sortOptions = false)
final class PerplexityCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "The model (GGUF).")
    Path model;

    @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "The text to score (UTF-8).")
    Path textFile;

    @Option(names = {"-c", "--ctx"}, paramLabel = "N", description = "Tokens per chunk (default ${DEFAULT-VALUE}, as llama-perplexity).")
    int ctx = 512;

    @Option(names = {"-b", "--batch"}, paramLabel = "N", description = "Tokens per forward pass; a chunk takes ceil(ctx/N) passes (default: ctx).")
    Integer batch;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Compute threads (default: the number of cores).")
    int threads = LocalModel.defaultThreads();

    @Option(names = "--kv-type", paramLabel = "TYPE", description = "KV cache storage, f32 or f16 (default ${DEFAULT-VALUE}).")
    String kvType = "f32";

    @Option(names = "--activations", paramLabel = "f32|int8|auto",
            description = "Weight matmuls on the f32 activations (f32) or on int8-rounded ones as llama.cpp (int8) (default ${DEFAULT-VALUE}, for checking numbers).")
    String activations = "f32";

    /** The sums a perplexity estimate is made of. */
    static final class Score {
        double nll;
        double nll2;
        long count;

        void add(double negativeLogLikelihood) {
            nll += negativeLogLikelihood;
            nll2 += negativeLogLikelihood * negativeLogLikelihood;
            count++;
        }

        double perplexity() {
            return Math.exp(nll / count);
        }

        /** The standard error of the perplexity, or NaN when the spread of the NLLs is not positive. */
        double error() {
            double mean = nll / count;
            double variance = nll2 / count - mean * mean;
            return variance > 0 ? Math.sqrt(variance / (count - 1)) * perplexity() : Double.NaN;
        }
    }

    @Override
    public Integer call() throws Exception {
        if (ctx < 4) throw new ErrorReporting.UsageError("--ctx must be at least 4, not " + ctx);
        int passSize = batch != null ? batch : ctx;
        if (passSize < 1) throw new ErrorReporting.UsageError("--batch must be at least 1, not " + passSize);
        passSize = Math.min(passSize, ctx);
        var kv = LocalModel.kvType(kvType);
        String text = Files.readString(textFile, StandardCharsets.UTF_8);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (LocalModel m = LocalModel.open(model, threads)) {
            int[] tokens = m.tokenizer.encode(text, true, false);
            if (tokens.length < 2 * ctx) {
                throw new ErrorReporting.UsageError(textFile + " has " + tokens.length + " tokens; perplexity with --ctx "
                        + ctx + " needs at least " + 2 * ctx + " (two chunks)");
            }
            int chunks = tokens.length / ctx;
            err.printf(Locale.ROOT, "perplexity: %d tokens, %d chunks of %d (batch %d, %d threads, %s KV cache)%n",
                    tokens.length, chunks, ctx, passSize, threads, kv);
            err.flush();
            LayerSlice slice = m.slice(ctx, kv, LocalModel.activations(activations));
            Score score = new Score();
            long start = System.nanoTime();
            for (int chunk = 0; chunk < chunks; chunk++) {
                int[] window = Arrays.copyOfRange(tokens, chunk * ctx, (chunk + 1) * ctx);
                if (m.tokenizer.addsBos()) window[0] = m.tokenizer.bos();
                scoreChunk(slice, window, passSize, score);
                out.printf(Locale.ROOT, "[%d]%.4f,", chunk + 1, score.perplexity());
                out.flush();
            }
            out.println();
            double error = score.error();
            if (Double.isNaN(error)) {
                out.printf(Locale.ROOT, "Final estimate: PPL = %.4f (the spread of log-probabilities is not positive; no error estimate)%n", score.perplexity());
            } else {
                out.printf(Locale.ROOT, "Final estimate: PPL = %.4f +/- %.5f%n", score.perplexity(), error);
            }
            out.flush();
            err.printf(Locale.ROOT, "perplexity: %d predictions scored in %.2f s%n", score.count, (System.nanoTime() - start) / 1e9);
            err.flush();
        }
        return ErrorReporting.OK;
    }

    /**
     * Evaluates one chunk from an empty cache in passes of {@code passSize} tokens, asking for logits only
     * from position ctx/2 on, and adds the NLL of each token of the second half given the one before it.
     */
    static void scoreChunk(LayerSlice slice, int[] window, int passSize, Score score) {
        int n = window.length;
        int first = n / 2;
        slice.kvCache().clear();
        for (int from = 0; from < n; from += passSize) {
            int size = Math.min(passSize, n - from);
            int[] positions = new int[size];
            long[] sequences = new long[size];
            boolean[] outputs = new boolean[size];
            for (int i = 0; i < size; i++) {
                positions[i] = from + i;
                sequences[i] = SequenceSet.of(0);
                outputs[i] = from + i >= first;
            }
            SliceOutput out = slice.forward(Batch.ofTokens(Arrays.copyOfRange(window, from, from + size), positions, sequences, outputs));
            int row = 0;
            for (int i = 0; i < size; i++) {
                if (!outputs[i]) continue;
                int pos = from + i;
                if (pos + 1 < n) score.add(-logSoftmax(out.data(), out.rowOffset(row), out.width(), window[pos + 1]));
                row++;
            }
        }
    }

    /** log softmax(row)[token], as llama-perplexity computes it: max in float, the sum of exponentials in double. */
    static double logSoftmax(float[] logits, int offset, int vocab, int token) {
        float max = logits[offset];
        for (int i = 1; i < vocab; i++) max = Math.max(max, logits[offset + i]);
        double sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
        return logits[offset + token] - max - Math.log(sum);
    }
}
