package dev.pipeinfer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.transformer.Batch;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOutput;
import dev.pipeinfer.transformer.sampling.TopTokens;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pipeinfer logits}: the best next tokens at every prompt position, in the form of the test data's
 * {@code prompt_topk}, so a model (or a change to the engine) can be checked against llama.cpp by hand.
 */
@Command(name = "logits",
        mixinStandardHelpOptions = true,
        description = {"Evaluate a prompt and print, for every position, the top-k next tokens and their logits.",
                "The prompt is tokenized as llama.cpp does (BOS added when the vocabulary asks for it, special-token "
                        + "texts kept as text). Ties rank the lower id first. The KV cache is F32 by default, as in "
                        + "the reference files."},
        footer = {"", "Examples:",
                "  pipeinfer logits --model testdata/models/stories260K.gguf --prompt \"Once upon a time\"",
                "  pipeinfer logits --model M --prompt-tokens 1,403,407 --top-k 5 --json"},
        sortOptions = false)
final class LogitsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "The model (GGUF).")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    PromptSource source;

    static final class PromptSource {
        @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "The prompt text.")
        String text;

        @Option(names = "--prompt-tokens", split = ",", paramLabel = "IDS", description = "The prompt as token ids (1,2,3), used as given.")
        List<Integer> tokens;
    }

    @Option(names = "--top-k", paramLabel = "K", description = "Tokens listed per position (default ${DEFAULT-VALUE}).")
    int topK = 10;

    @Option(names = "--kv-type", paramLabel = "TYPE", description = "KV cache storage, f32 or f16 (default ${DEFAULT-VALUE}).")
    String kvType = "f32";

    @Option(names = "--activations", paramLabel = "f32|int8|auto",
            description = "Weight matmuls on the f32 activations (f32) or on int8-rounded ones as llama.cpp (int8) (default ${DEFAULT-VALUE}, for checking numbers).")
    String activations = "f32";

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Compute threads (default: the number of cores).")
    int threads = LocalModel.defaultThreads();

    @Option(names = "--json", description = "Print {\"tokens\": [...], \"positions\": [{\"pos\", \"ids\", \"logits\"}, ...]}.")
    boolean json;

    /** The best tokens after one position. */
    record PositionTopK(int pos, int[] ids, float[] logits) {}

    @Override
    public Integer call() throws Exception {
        var kv = LocalModel.kvType(kvType);
        try (LocalModel m = LocalModel.open(model, threads)) {
            int[] tokens = promptTokens(m);
            if (tokens.length == 0) throw new ErrorReporting.UsageError("the prompt has no tokens");
            if (topK < 1 || topK > m.config.vocabSize()) {
                throw new ErrorReporting.UsageError("--top-k must be in 1.." + m.config.vocabSize() + ", not " + topK);
            }
            // The cache holds exactly the prompt.
            LayerSlice slice = m.slice(tokens.length, kv, LocalModel.activations(activations));
            List<PositionTopK> positions = evaluate(slice, tokens);
            print(m, tokens, positions);
        }
        return ErrorReporting.OK;
    }

    private int[] promptTokens(LocalModel m) {
        if (source.text != null) return m.tokenizer.encode(source.text, true, false);
        int[] ids = source.tokens.stream().mapToInt(Integer::intValue).toArray();
        for (int id : ids) {
            if (id < 0 || id >= m.config.vocabSize()) {
                throw new ErrorReporting.UsageError("--prompt-tokens: " + id + " is not a token id (vocabulary of " + m.config.vocabSize() + ")");
            }
        }
        return ids;
    }

    /**
     * Evaluates the prompt in passes of {@link #PASS} tokens, so a long prompt never needs its whole logit matrix
     * at once; the engine is batch-invariant, so the logits are those of one batch, as the references were made.
     */
    private List<PositionTopK> evaluate(LayerSlice slice, int[] tokens) {
        List<PositionTopK> positions = new ArrayList<>(tokens.length);
        for (int from = 0; from < tokens.length; from += PASS) {
            int[] pass = Arrays.copyOfRange(tokens, from, Math.min(tokens.length, from + PASS));
            SliceOutput out = slice.forward(Batch.sequence(pass, from, 0, true));
            for (int row = 0; row < out.rows(); row++) {
                TopTokens top = TopTokens.of(out.data(), out.rowOffset(row), out.width(), topK);
                positions.add(new PositionTopK(from + row, top.ids(), top.logits()));
            }
        }
        return positions;
    }

    private static final int PASS = 128;

    private void print(LocalModel m, int[] tokens, List<PositionTopK> positions) throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("tokens", tokens);
            root.put("positions", positions);
            out.println(new ObjectMapper().writeValueAsString(root));
        } else {
            out.printf(Locale.ROOT, "%5s %7s  %-14s %s%n", "pos", "token", "piece", "next: id (logit), best first");
            for (PositionTopK p : positions) {
                StringBuilder next = new StringBuilder();
                for (int i = 0; i < p.ids().length; i++) {
                    next.append(String.format(Locale.ROOT, "%s%d (%.4f)", i == 0 ? "" : "  ", p.ids()[i], p.logits()[i]));
                }
                out.printf(Locale.ROOT, "%5d %7d  %-14s %s%n", p.pos(), tokens[p.pos()], quoted(m, tokens[p.pos()]), next);
            }
        }
        out.flush();
    }

    private static String quoted(LocalModel m, int id) {
        String piece = new String(m.tokenizer.piece(id, true), StandardCharsets.UTF_8)
                .replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r");
        return "'" + piece + "'";
    }
}
