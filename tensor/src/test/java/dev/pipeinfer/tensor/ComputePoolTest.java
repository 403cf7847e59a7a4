package dev.pipeinfer.tensor;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The pool splits a range over its threads, the caller working as thread 0, and returns when every slice is
 * done: from a platform caller (bench, the one-node engine) and from a virtual one (a pipeline stage), which
 * waits by spinning and parking instead of yielding its carrier.
 */
class ComputePoolTest {
    @Test
    void aPlatformCallerGetsEveryIndexDoneOnceEvenWhenAWorkerIsSlow() throws Exception {
        try (ComputePool pool = new ComputePool(3)) {
            runOn(Thread.ofPlatform(), pool);
        }
    }

    @Test
    void aVirtualCallerGetsEveryIndexDoneOnceEvenWhenAWorkerIsSlow() throws Exception {
        try (ComputePool pool = new ComputePool(3)) {
            runOn(Thread.ofVirtual(), pool);
        }
    }

    /**
     * A pool closed by another thread while its owner keeps calling it: every call returns, done or refused
     * ({@link IllegalStateException}); none waits for a slice that a worker, seeing the close first, never took.
     */
    @Test
    void closingThePoolDuringItsJobsNeverLeavesTheCallerWaiting() throws Exception {
        for (int round = 0; round < 300; round++) {
            ComputePool pool = new ComputePool(2);
            Thread caller = Thread.ofPlatform().start(() -> {
                try {
                    while (true) pool.run(64, 1, (worker, from, to) -> { });
                } catch (IllegalStateException closed) {
                    // the pool is closed: the expected end
                }
            });
            LockSupport.parkNanos(round % 7 * 20_000L);
            pool.close();
            assertTrue(caller.join(Duration.ofSeconds(10)), "round " + round + ": the caller still waits after the close");
        }
    }

    private static void runOn(Thread.Builder builder, ComputePool pool) throws Exception {
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread caller = builder.start(() -> {
            try {
                runsCoverTheRange(pool);
            } catch (Throwable t) {
                failed.set(t);
            }
        });
        caller.join();
        if (failed.get() != null) throw new AssertionError("on the " + (caller.isVirtual() ? "virtual" : "platform") + " caller", failed.get());
    }

    /** Many runs in a row, some with a worker's slice far longer than the caller's spin before it parks. */
    private static void runsCoverTheRange(ComputePool pool) {
        for (int run = 0; run < 50; run++) {
            AtomicIntegerArray done = new AtomicIntegerArray(1000);
            boolean slowWorker = run % 10 == 0;
            pool.run(1000, 8, (worker, from, to) -> {
                if (slowWorker && worker == 2) LockSupport.parkNanos(5_000_000);
                for (int i = from; i < to; i++) done.incrementAndGet(i);
            });
            for (int i = 0; i < 1000; i++) assertEquals(1, done.get(i), "index " + i + " of run " + run);
        }
    }
}
