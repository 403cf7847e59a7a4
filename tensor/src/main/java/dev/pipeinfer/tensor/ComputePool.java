package dev.pipeinfer.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of platform threads that split one job over a range of indices (matmul rows), for one node.
 *
 * <p>The split is static and deterministic: with T threads, thread t takes the t-th of T contiguous,
 * near-equal slices of the range (in whole {@code grain}s), and the calling thread works as thread 0. No
 * work stealing, no allocation per call: a job is a reusable {@link RangeJob} object. Idle workers spin
 * briefly (back-to-back matmuls of a decode step keep them hot), then yield, then park.
 *
 * <p>Callers are platform threads in the engine (a pipeline stage computes on a platform thread of its own). A
 * virtual caller spins instead of yielding while it waits for the workers' slices, since {@code Thread.yield} on
 * a virtual thread gives its carrier back and queues it again behind the scheduler's other work: when stages
 * computed on their virtual threads, a 1.1B Q4_0 model generated 14.9-17.5 tokens/s on two threads yielding so,
 * where {@code bench} (a platform caller) decodes 24.4 (docs/performance.md, tenth session).
 *
 * <p>Closing the pool while a job runs ends that job's call with an {@link IllegalStateException} once the
 * workers have finished their slices, rather than leaving the caller waiting for a slice no worker will take.
 *
 * <p>One job runs at a time; concurrent callers are serialized. Not reentrant: a job must not call back
 * into its own pool.
 */
public final class ComputePool implements AutoCloseable {
    /** A job over index slices; {@code worker} in 0..threads-1 selects per-thread scratch. */
    public interface RangeJob {
        void run(int worker, int from, int to);
    }

    /**
     * Waiting: spin briefly (the next job or the last slice usually arrives within microseconds), then
     * yield for a while (on a loaded machine the thread we wait for may need this very core), then park.
     */
    private static final int SPIN_LIMIT = 1 << 8;
    private static final int YIELD_LIMIT = 1 << 11;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile int generation;
    private volatile boolean closed;
    private volatile Thread caller;
    private RangeJob job;
    private int count;
    private int grain;
    private volatile Throwable failure;

    /** Per-thread scratch for kernels (rows decoded to floats, lane sums), grown on first use. */
    final KernelScratch[] scratch;
    /** The reusable matmul job of this pool (see {@link Matmul}). */
    final Matmul.Job matmulJob = new Matmul.Job(this);

    public ComputePool(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        this.scratch = new KernelScratch[threads];
        for (int t = 0; t < threads; t++) scratch[t] = new KernelScratch();
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int index = i + 1;
            workers[i] = Thread.ofPlatform().daemon().name("compute-" + index).unstarted(() -> workerLoop(index));
            workers[i].start();
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs {@code job} over [0, count) split in whole {@code grain}s across the threads; returns when all are done. */
    public synchronized void run(int count, int grain, RangeJob job) {
        if (closed) throw new IllegalStateException("compute pool is closed");
        if (threads == 1 || count <= grain) {
            job.run(0, 0, count);
            return;
        }
        this.job = job;
        this.count = count;
        this.grain = grain;
        this.failure = null;
        this.caller = Thread.currentThread();
        pending.set(workers.length);
        generation++; // publishes the fields above to the workers
        for (Thread w : workers) LockSupport.unpark(w);
        Throwable mine = null;
        try {
            runSlice(0);
        } catch (Throwable t) {
            mine = t;
        }
        boolean mayYield = !Thread.currentThread().isVirtual();
        for (int spins = 0; pending.get() != 0; spins++) {
            if (closed) {
                awaitWorkersEnd();
                if (pending.get() != 0) {
                    this.job = null;
                    throw new IllegalStateException("compute pool closed during a job");
                }
                break;
            }
            pause(spins, mayYield);
        }
        this.job = null;
        Throwable theirs = failure;
        if (mine != null) rethrow(mine);
        if (theirs != null) rethrow(theirs);
    }

    private void runSlice(int t) {
        int units = (count + grain - 1) / grain;
        int from = (int) ((long) units * t / threads) * grain;
        int to = Math.min(count, (int) ((long) units * (t + 1) / threads) * grain);
        if (from < to) job.run(t, from, to);
    }

    private void workerLoop(int index) {
        int seen = 0;
        while (true) {
            int g;
            for (int spins = 0; (g = generation) == seen && !closed; spins++) pause(spins, true);
            if (closed) return;
            seen = g;
            try {
                runSlice(index);
            } catch (Throwable t) {
                failure = t;
            }
            if (pending.decrementAndGet() == 0) LockSupport.unpark(caller);
        }
    }

    private void pause(int spins, boolean mayYield) {
        if (spins < SPIN_LIMIT || (spins < YIELD_LIMIT && !mayYield)) Thread.onSpinWait();
        else if (spins < YIELD_LIMIT) Thread.yield();
        else LockSupport.park(this);
    }


    private static void rethrow(Throwable t) {
        if (t instanceof RuntimeException r) throw r;
        if (t instanceof Error e) throw e;
        throw new IllegalStateException(t);
    }

    /** After a close: waits until the workers have returned, each having finished or skipped its slice. */
    private void awaitWorkersEnd() {
        boolean interrupted = false;
        for (Thread w : workers) {
            while (w.isAlive()) {
                try {
                    w.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
        Thread waiting = caller;
        if (waiting != null) LockSupport.unpark(waiting);
        for (Thread w : workers) {
            try {
                w.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
