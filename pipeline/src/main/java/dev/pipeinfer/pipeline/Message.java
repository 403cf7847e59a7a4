package dev.pipeinfer.pipeline;

import java.util.Arrays;

/**
 * Everything that travels between the head and the stages (DESIGN section 5). Data messages
 * ({@link Run}, {@link KvEdit}, {@link Barrier}, {@link Result}, {@link Cancelled}, {@link Failure}) flow down the ring
 * on one ordered stream per link; control messages ({@link Cancel}, {@link Ping}, {@link StatsRequest},
 * {@link Shutdown}) go from the head to every stage directly, and their answers ({@link Pong},
 * {@link StatsReply}) come straight back.
 */
public sealed interface Message permits Run, KvEdit, Result, Message.Cancel, Message.Cancelled, Message.Barrier,
        Message.Failure, Message.Ping, Message.Pong, Message.StatsRequest, Message.StatsReply, Message.Shutdown {

    /** Bytes this message occupies on a link, for the metrics of in-memory links. */
    default long nominalBytes() {
        return 16;
    }

    /** Head to every stage: drop these runs (idempotent; unknown ids are remembered until the run passes). */
    record Cancel(long[] runIds) implements Message {
        public Cancel {
            if (runIds == null || runIds.length == 0) throw new IllegalArgumentException("cancel of no runs");
            runIds = runIds.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Cancel c && Arrays.equals(runIds, c.runIds);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(runIds);
        }

        @Override
        public String toString() {
            return "Cancel" + Arrays.toString(runIds);
        }

        @Override
        public long nominalBytes() {
            return 8 + 8L * runIds.length;
        }
    }

    /** The tombstone a stage forwards in place of a run (or its result) that it dropped. */
    record Cancelled(long runId, int droppedAtStage) implements Message {
    }

    /**
     * Sent by the head down the ring behind runs and KV edits; every stage passes it on in order, the last one to
     * the head. When it comes back, every stage has done everything sent before it. Neither a run nor an edit: no
     * stage counts it as either.
     */
    record Barrier(long id) implements Message {
    }

    /**
     * A stage could not go on (compute error, broken link); travels to the head, which ends every
     * waiting run with this message.
     */
    record Failure(int stageIndex, String where, String reason) implements Message {
        public Failure {
            if (where == null || reason == null) throw new IllegalArgumentException("failure without text");
        }

        public String describe() {
            return "stage " + stageIndex + " (" + where + "): " + reason;
        }
    }

    /** Liveness probe; answered by a {@link Pong} with the same nonce. */
    record Ping(long nonce) implements Message {
    }

    /**
     * Answer to a {@link Ping}: the stage is alive, and what it is doing. {@code busyMillis} is how long
     * the current run has been computing, or -1 when the stage waits for input; {@code processed}
     * counts the messages it has handled, so the head can tell a slow stage from a stuck one.
     */
    record Pong(long nonce, int stageIndex, long processed, long busyMillis) implements Message {
    }

    /** Asks a stage for its {@link StageStats}. */
    record StatsRequest(long nonce) implements Message {
    }

    record StatsReply(long nonce, StageStats stats) implements Message {
        public StatsReply {
            if (stats == null) throw new IllegalArgumentException("stats reply without stats");
        }
    }

    /** Orderly stop: the stage finishes what it is doing and ends. */
    record Shutdown() implements Message {
    }
}
