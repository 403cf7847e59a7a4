package dev.pipeinfer.pipeline;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Holds the first failure reported by any stage, link or watchdog of a pipeline; later reports are
 * consequences of the first and are dropped.
 */
public final class FailureLatch {
    private final AtomicReference<Message.Failure> first = new AtomicReference<>();
    private volatile Runnable onFirst = () -> { };

    public void report(Message.Failure failure) {
        if (first.compareAndSet(null, failure)) onFirst.run();
    }

    public Message.Failure get() {
        return first.get();
    }

    /** Throws the failure, if there is one. */
    public void check() {
        Message.Failure f = first.get();
        if (f != null) throw new StageFailureException(f);
    }

    void onFirst(Runnable action) {
        this.onFirst = action;
    }
}
