package dev.pipeinfer.cli;

import dev.pipeinfer.pipeline.StageStats;
import java.util.LinkedHashMap;
import java.util.Map;

/** A stage's counters with snake_case names, for the JSON outputs. */
final class StageReport {
    private StageReport() {}

    static Map<String, Object> of(StageStats s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("stage", s.stageIndex());
        m.put("compute_ms", s.computeNanos() / 1e6);
        m.put("idle_ms", s.idleNanos() / 1e6);
        m.put("cancelled_compute_ms", s.cancelledComputeNanos() / 1e6);
        m.put("bytes_received", s.bytesReceived());
        m.put("bytes_sent", s.bytesSent());
        m.put("runs_executed", s.runsExecuted());
        m.put("runs_cancelled", s.runsCancelled());
        m.put("kv_edits", s.kvEdits());
        m.put("heap_used_bytes", s.heapUsedBytes());
        m.put("resident_bytes", s.residentBytes());
        return m;
    }
}
