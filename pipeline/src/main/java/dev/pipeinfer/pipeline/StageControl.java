package dev.pipeinfer.pipeline;

import java.time.Duration;

/**
 * The head's direct control channel to one stage (DESIGN section 4: cancel, stats and shutdown go
 * from the head to every stage in one hop, not down the ring).
 */
public interface StageControl extends AutoCloseable {

    int index();

    /** Where the stage runs: "local", or the worker's address. */
    String where();

    /** Forwards a cancellation; never blocks on the stage's data stream. */
    void cancel(long[] runIds);

    /** A liveness answer within the timeout, or a {@link StageFailureException} naming the stage. */
    Message.Pong ping(Duration timeout);

    StageStats stats(Duration timeout);

    /** Orderly stop of the stage (and, for a worker, the end of its session). */
    @Override
    void close();
}
