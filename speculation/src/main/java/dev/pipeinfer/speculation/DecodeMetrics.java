package dev.pipeinfer.speculation;

import dev.pipeinfer.pipeline.ResidentMemory;
import dev.pipeinfer.pipeline.StageStats;
import java.util.Arrays;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The measurements every decoding mode reports (DESIGN §7): throughput, time to first token, inter-token
 * latency, speculation efficiency, and what the pipeline did. Times are taken on the head with
 * {@link System#nanoTime()}; the clock starts when the prompt is submitted.
 */
public final class DecodeMetrics {
    private final String mode;
    private long startNanos = System.nanoTime();
    private long promptDoneNanos;
    private int promptTokens;
    private long[] tokenNanos = new long[64];
    private int generated;
    private long endNanos;

    long drafted;
    long accepted;
    long runsLaunched;
    long runsCancelled;
    long draftNanos;

    // From the stages' counters, over this generation (see stages()).
    private long stageComputeNanos;
    private long cancelledComputeNanos;
    private long bytesSent;
    private long[] stageHeapBytes = new long[0];
    private long headResidentBytes = -1;

    public DecodeMetrics(String mode) {
        this.mode = mode;
    }

    /** Restarts the clock (when setting up took time that is not part of the generation). */
    void restart() {
        startNanos = System.nanoTime();
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

    /**
     * Takes what the stages did during this generation from their counters before and after it: compute
     * time, compute time spent on runs that were then cancelled, bytes sent over all links, and each
     * node's heap; plus this process's resident set.
     */
    public void stages(List<StageStats> before, List<StageStats> after) {
        stageComputeNanos = cancelledComputeNanos = bytesSent = 0;
        stageHeapBytes = new long[after.size()];
        for (int i = 0; i < after.size(); i++) {
            StageStats a = after.get(i);
            StageStats b = i < before.size() ? before.get(i) : null;
            stageComputeNanos += a.computeNanos() - (b == null ? 0 : b.computeNanos());
            cancelledComputeNanos += a.cancelledComputeNanos() - (b == null ? 0 : b.cancelledComputeNanos());
            bytesSent += a.bytesSent() - (b == null ? 0 : b.bytesSent());
            stageHeapBytes[i] = a.heapUsedBytes();
        }
        headResidentBytes = ResidentMemory.bytes();
    }

    public double cancelledComputeMillis() {
        return cancelledComputeNanos / 1e6;
    }

    /** Time the draft model spent drafting during this generation. */
    public double draftMillis() {
        return draftNanos / 1e6;
    }

    public double stageComputeMillis() {
        return stageComputeNanos / 1e6;
    }

    /** Bytes sent over all links per generated token. */
    public double bytesPerToken() {
        return generated == 0 ? 0 : (double) bytesSent / generated;
    }

    public long headResidentBytes() {
        return headResidentBytes;
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
        m.put("draft_ms", round(draftNanos / 1e6));
        m.put("stage_compute_ms", round(stageComputeMillis()));
        m.put("cancelled_compute_ms", round(cancelledComputeMillis()));
        m.put("bytes_per_token", round(bytesPerToken()));
        m.put("stage_heap_bytes", stageHeapBytes.clone());
        m.put("head_rss_bytes", headResidentBytes);
        return m;
    }

    private static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }
}
