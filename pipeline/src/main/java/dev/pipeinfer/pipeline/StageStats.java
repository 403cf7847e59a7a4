package dev.pipeinfer.pipeline;

/**
 * A stage's counters since it started: time computing and waiting for input, traffic on its links,
 * and how its runs ended. {@code cancelledComputeNanos} is compute time spent on runs that were then
 * cancelled part-way (the waste that early cancellation bounds); {@code runsCancelled} counts the runs
 * this stage did not complete because they were cancelled, here or upstream. {@code heapUsedBytes} is
 * the node's Java heap in use (mapped weights are outside it); {@code residentBytes} its resident set
 * (VmRSS, mapped weight pages included; -1 where unknown).
 */
public record StageStats(int stageIndex, long computeNanos, long idleNanos, long cancelledComputeNanos,
                         long bytesReceived, long bytesSent, long runsExecuted, long runsCancelled,
                         long kvEdits, long heapUsedBytes, long residentBytes) {

    @Override
    public String toString() {
        return String.format("stage %d: compute %.1f ms, idle %.1f ms (%.1f ms on cancelled runs), in %d B, out %d B, "
                        + "runs %d done / %d cancelled, %d KV edits, heap %d MiB, resident %d MiB", stageIndex, computeNanos / 1e6, idleNanos / 1e6,
                cancelledComputeNanos / 1e6, bytesReceived, bytesSent, runsExecuted, runsCancelled, kvEdits,
                heapUsedBytes >> 20, residentBytes >> 20);
    }
}
