package dev.pipeinfer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.pipeinfer.pipeline.StageStats;
import dev.pipeinfer.speculation.Decoder;
import dev.pipeinfer.speculation.GenerationRequest;
import dev.pipeinfer.speculation.GenerationResult;
import dev.pipeinfer.speculation.DraftModel;
import dev.pipeinfer.speculation.SpeculationParams;
import dev.pipeinfer.transformer.tokenizer.StreamingDecoder;
import dev.pipeinfer.transformer.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;

/**
 * Text generation as the {@code pipeinfer} command runs it: open the target pipeline, tokenize the prompt,
 * decode while streaming text to stdout, then report timings on stderr (or everything as one JSON object).
 */
final class Generation {
    private final GenerationOptions options;
    private final PrintWriter out;
    private final PrintWriter err;

    Generation(GenerationOptions options, PrintWriter out, PrintWriter err) {
        this.options = options;
        this.out = out;
        this.err = err;
    }

    int run() throws Exception {
        if (options.model == null) throw new ErrorReporting.UsageError("--model is required (try --help)");
        long loadStart = System.nanoTime();
        String mode = options.speculation.effectiveMode();
        SpeculationParams params = options.speculation.params();
        try (TargetPipeline target = TargetPipeline.open(options.model, options.stages, err::println);
             DraftModel draft = options.speculation.openDraft(target, options.stages)) {
            double loadMillis = (System.nanoTime() - loadStart) / 1e6;
            Tokenizer tokenizer = Tokenizer.from(target.file().metadata());
            int[] prompt = promptTokens(tokenizer);
            IntPredicate stopAt = options.ignoreEos ? t -> false : tokenizer::isEndOfGeneration;
            GenerationRequest request = new GenerationRequest(prompt, options.maxTokens, options.sampling(), stopAt);
            Decoder decoder = SpeculationOptions.decoder(mode, target, draft, params);

            StreamingDecoder text = new StreamingDecoder(tokenizer);
            StringBuilder all = new StringBuilder();
            GenerationResult result = decoder.generate(request, token -> {
                String piece = text.accept(token);
                all.append(piece);
                if (!options.json && !piece.isEmpty()) {
                    out.print(piece);
                    out.flush();
                }
            });
            String tail = text.finish();
            all.append(tail);
            List<StageStats> stats = target.pipeline().stats();
            if (options.metricsJson != null) {
                Files.writeString(options.metricsJson, new ObjectMapper().writerWithDefaultPrettyPrinter()
                        .writeValueAsString(result.metrics().asMap()));
            }
            if (options.json) {
                printJson(prompt, result, all.toString(), loadMillis, stats);
            } else {
                out.print(tail);
                out.println();
                out.flush();
                printSummary(prompt, result, loadMillis, stats);
            }
        }
        return ErrorReporting.OK;
    }

    private int[] promptTokens(Tokenizer tokenizer) throws IOException {
        int given = (options.prompt != null ? 1 : 0) + (options.promptFile != null ? 1 : 0) + (options.promptTokens != null ? 1 : 0);
        if (given != 1) throw new ErrorReporting.UsageError("give exactly one of --prompt, --file and --prompt-tokens");
        if (options.promptTokens != null) {
            int[] ids = options.promptTokens.stream().mapToInt(Integer::intValue).toArray();
            for (int id : ids) {
                if (id < 0 || id >= tokenizer.vocabSize()) {
                    throw new ErrorReporting.UsageError("--prompt-tokens: " + id + " is not a token id (vocabulary of " + tokenizer.vocabSize() + ")");
                }
            }
            return ids;
        }
        String text = options.prompt != null ? options.prompt : Files.readString(options.promptFile, StandardCharsets.UTF_8);
        return tokenizer.encode(text, true, false);
    }

    private void printSummary(int[] prompt, GenerationResult r, double loadMillis, List<StageStats> stats) {
        var m = r.metrics();
        err.printf("%nload time      %10.1f ms%n", loadMillis);
        err.printf("prompt         %10.1f tokens/s (%d tokens)%n", m.promptTokensPerSecond(), prompt.length);
        err.printf("generation     %10.1f tokens/s (%d tokens, stop: %s)%n", m.generatedTokensPerSecond(), m.generatedTokens(),
                r.stopReason().name().toLowerCase(java.util.Locale.ROOT));
        err.printf("first token    %10.1f ms%n", m.timeToFirstTokenMillis());
        err.printf("inter-token    %10.1f ms mean, %.1f p50, %.1f p95%n", m.interTokenMeanMillis(),
                m.interTokenQuantileMillis(0.5), m.interTokenQuantileMillis(0.95));
        err.printf("mode           %10s%n", m.mode());
        err.printf("activations    %10s%n", LocalModel.activations(options.stages.activations).label());
        if (m.drafted() > 0) {
            err.printf("acceptance     %10.3f (%d of %d drafted tokens)%n", m.acceptanceRate(), m.accepted(), m.drafted());
        }
        err.printf("runs           %10d launched after the prompt, %d cancelled (%.1f ms of stage compute on cancelled runs)%n",
                m.runsLaunched(), m.runsCancelled(), m.cancelledComputeMillis());
        if (m.draftMillis() > 0) err.printf("draft          %10.1f ms drafting%n", m.draftMillis());
        err.printf("traffic        %10.0f bytes per token%n", m.bytesPerToken());
        if (m.headResidentBytes() > 0) err.printf("memory         %10d MiB resident (head)%n", m.headResidentBytes() >> 20);
        err.printf("seed           %10d%n", options.effectiveSeed());
        for (StageStats s : stats) err.println(s);
        err.flush();
    }

    private void printJson(int[] prompt, GenerationResult r, String text, double loadMillis, List<StageStats> stats)
            throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("prompt_tokens", prompt);
        json.put("generated_tokens", r.tokens());
        json.put("text", text);
        json.put("stop_reason", r.stopReason().name().toLowerCase(java.util.Locale.ROOT));
        json.put("seed", options.effectiveSeed());
        json.put("activations", LocalModel.activations(options.stages.activations).label());
        Map<String, Object> timings = new LinkedHashMap<>();
        timings.put("load_ms", Math.round(loadMillis * 1000) / 1000.0);
        timings.putAll(r.metrics().asMap());
        json.put("timings", timings);
        List<Map<String, Object>> stages = new ArrayList<>();
        for (StageStats s : stats) stages.add(StageReport.of(s));
        json.put("stages", stages);
        out.println(new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS).writeValueAsString(json));
        out.flush();
    }
}
