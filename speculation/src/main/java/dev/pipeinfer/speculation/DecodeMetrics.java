package dev.pipeinfer.speculation;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The measurements every decoding mode reports (DESIGN §7): throughput, time to first token, inter-token
 * latency, speculation efficiency, and what the pipeline did. Times are taken on the head with
 * {@link System#nanoTime()}; the clock starts when the prompt is submitted.
 */
public final class DecodeMetrics {
    private final String mode;
    private final long startNanos = System.nanoTime();
    private long promptDoneNanos;
    private int promptTokens;
    private long[] tokenNanos = new long[64];
    private int generated;
    private long endNanos;

    long drafted;
    long accepted;
    long runsLaunched;
    long runsCancelled;

    public DecodeMetrics(String mode) {
        this.mode = mode;
    }

    void promptDone(int tokens) {
        promptTokens = tokens;
        promptDoneNanos = System.nanoTime();
    }

    void tokenEmitted() {
        if (generated == tokenNanos.length) tokenNanos = Arrays.copyOf(tokenNanos, generated * 2);
        tokenNanos[generated++] = System.nanoTime();
    }

    void finish() {
        endNanos = System.nanoTime();
    }

    public String mode() {
        return mode;
    }

    public int promptTokens() {
        return promptTokens;
    }

    public int generatedTokens() {
        return generated;
    }

    /** Prompt tokens per second of prompt processing (until the prompt's last logits were back). */
    public double promptTokensPerSecond() {
        double s = (promptDoneNanos - startNanos) / 1e9;
        return s > 0 ? promptTokens / s : 0;
    }

    /**
     * Generated tokens per second after the first one (whose time is the time to first token), the way
     * llama.cpp's eval rate is measured.
     */
    public double generatedTokensPerSecond() {
        if (generated < 2) return 0;
        double s = (tokenNanos[generated - 1] - tokenNanos[0]) / 1e9;
        return s > 0 ? (generated - 1) / s : 0;
    }

    /** From submitting the prompt to the first generated token. */
    public double timeToFirstTokenMillis() {
        return generated == 0 ? 0 : (tokenNanos[0] - startNanos) / 1e6;
    }

    public double totalMillis() {
        return ((endNanos != 0 ? endNanos : System.nanoTime()) - startNanos) / 1e6;
    }

    /** Gaps between successive generated tokens, in milliseconds. */
    public double[] interTokenMillis() {
        double[] gaps = new double[Math.max(0, generated - 1)];
        for (int i = 1; i < generated; i++) gaps[i - 1] = (tokenNanos[i] - tokenNanos[i - 1]) / 1e6;
        return gaps;
    }

    public double interTokenMeanMillis() {
        double[] g = interTokenMillis();
        return g.length == 0 ? 0 : Arrays.stream(g).average().orElse(0);
    }

    /** The q-quantile (0..1) of the inter-token gaps, nearest-rank. */
    public double interTokenQuantileMillis(double q) {
        double[] g = interTokenMillis();
        if (g.length == 0) return 0;
        Arrays.sort(g);
        int rank = (int) Math.ceil(q * g.length) - 1;
        return g[Math.max(0, Math.min(g.length - 1, rank))];
    }

    public long drafted() {
        return drafted;
    }

    public long accepted() {
        return accepted;
    }

    /** Accepted over drafted tokens; 0 when nothing was drafted. */
    public double acceptanceRate() {
        return drafted == 0 ? 0 : (double) accepted / drafted;
    }

    public long runsLaunched() {
        return runsLaunched;
    }

    public long runsCancelled() {
        return runsCancelled;
    }

    /** The metrics with DESIGN §7's snake_case names, for --json and --metrics-json. */
    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mode", mode);
        m.put("prompt_tokens", promptTokens);
        m.put("generated_tokens", generated);
        m.put("prompt_tokens_per_s", round(promptTokensPerSecond()));
        m.put("generated_tokens_per_s", round(generatedTokensPerSecond()));
        m.put("ttft_ms", round(timeToFirstTokenMillis()));
        m.put("itl_ms_mean", round(interTokenMeanMillis()));
        m.put("itl_ms_p50", round(interTokenQuantileMillis(0.5)));
        m.put("itl_ms_p95", round(interTokenQuantileMillis(0.95)));
        m.put("total_ms", round(totalMillis()));
        m.put("drafted_tokens", drafted);
        m.put("accepted_tokens", accepted);
        m.put("acceptance_rate", round(acceptanceRate()));
        m.put("runs_launched", runsLaunched);
        m.put("runs_cancelled", runsCancelled);
        return m;
    }

    private static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }
}
