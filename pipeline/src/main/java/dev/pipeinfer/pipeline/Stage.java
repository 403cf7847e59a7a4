package dev.pipeinfer.pipeline;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * One pipeline stage: a virtual thread that takes messages from its input link in order, computes
 * runs through its {@link StageCompute}, applies KV edits at the same point of the stream, and
 * forwards everything to its output link (DESIGN sections 3-5).
 *
 * <p>Cancellation: {@link #cancel} is called from the control channel (another thread). A run
 * cancelled before it arrives is skipped on arrival; a run cancelled while computing stops at the next
 * layer boundary. Either way a {@link Message.Cancelled} tombstone goes out in its place, so the
 * stream downstream keeps its order and the head gets exactly one answer per run.
 *
 * <p>The stage's virtual thread moves messages and applies KV edits; a run's compute goes to a platform thread of
 * the stage's own while the virtual thread waits unmounted (DESIGN section 8: compute on platform threads, stages
 * and I/O on virtual ones), so calls into the {@link StageCompute} still come one at a time, in stream order.
 * Computing on the virtual thread held its carrier for a whole run, so with one carrier per core a node computing
 * on every core could not run the virtual threads that send and receive activations until a run ended.
 */
public final class Stage implements AutoCloseable {
    /** Reason prefix of a failure that is the consequence of an upstream node or link going away. */
    public static final String INPUT_ENDED = "input ended: ";
    /** Reason prefix of a failure that is the consequence of a downstream node or link going away. */
    public static final String OUTPUT_FAILED = "output failed: ";
    /** How long a closer waits for a computing run to reach its next layer before it closes the pool under it. */
    public static final Duration CLOSE_WAIT = Duration.ofSeconds(10);

    private final int index;
    private final String where;
    private final StageCompute compute;
    private final Link input;
    private final Link output;
    private final ActivationPool pool;
    private final Consumer<Message.Failure> onFailure;
    private final Thread thread;
    private final ExecutorService computeThread;

    /** Cancelled run ids that have not yet passed this stage (run ids ascend along the stream). */
    private final ConcurrentSkipListSet<Long> cancelledRuns = new ConcurrentSkipListSet<>();
    private volatile long lastRunSeen = -1;
    private volatile long busySince; // System.nanoTime() when the current run started, 0 when waiting
    private volatile boolean stopping;
    private volatile Message.Failure endFailure;

    private final AtomicLong processed = new AtomicLong();
    private volatile long computeNanos, idleNanos, cancelledComputeNanos, runsExecuted, runsCancelled, kvEdits;

    /**
     * @param index     position in the pipeline, 0 = first
     * @param where     where it runs, for messages ("local", "10.0.0.2:7070")
     * @param onFailure told once when the stage stops because of an error or its input ended
     */
    public Stage(int index, String where, StageCompute compute, Link input, Link output, ActivationPool pool,
                 Consumer<Message.Failure> onFailure) {
        this.index = index;
        this.where = where;
        this.compute = compute;
        this.input = input;
        this.output = output;
        this.pool = pool;
        this.onFailure = onFailure;
        this.thread = Thread.ofVirtual().name("stage-" + index).unstarted(this::loop);
        this.computeThread = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon().name("stage-" + index + " compute").factory());
    }

    public Stage start() {
        thread.start();
        return this;
    }

    public int index() {
        return index;
    }

    public String where() {
        return where;
    }

    // ---- control channel (any thread) ----

    /** Marks runs as cancelled; idempotent. Runs that already passed this stage are ignored. */
    public void cancel(long... runIds) {
        for (long id : runIds) {
            if (id >= lastRunSeen) cancelledRuns.add(id);
        }
    }

    public Message.Pong pong(long nonce) {
        long since = busySince;
        return new Message.Pong(nonce, index, processed.get(),
                since == 0 ? -1 : (System.nanoTime() - since) / 1_000_000);
    }

    public StageStats stats() {
        return new StageStats(index, computeNanos, idleNanos, cancelledComputeNanos, input.bytesReceived(),
                output.bytesSent(), runsExecuted, runsCancelled, kvEdits,
                Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory(), ResidentMemory.bytes());
    }

    /**
     * Stops after the current message (a run computing stops at its next layer); the output link is closed.
     * Does not wait: {@link #awaitEnd} does, for callers that close the compute's pool next.
     */
    @Override
    public void close() {
        stopping = true;
        thread.interrupt();
    }

    /** {@link #close}, then {@link #awaitEnd}. */
    public boolean closeAndAwait(Duration timeout) {
        close();
        return awaitEnd(timeout);
    }

    /**
     * After {@link #close}: waits up to {@code timeout} for the stage thread to end, which it does once a computing
     * run has reached its next layer; whether it ended. A compute that never returns (a stuck kernel) is left to
     * the closing of its pool, which ends it with an error.
     */
    public boolean awaitEnd(Duration timeout) {
        boolean interrupted = Thread.interrupted();
        try {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                try {
                    return thread.join(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    public void join() throws InterruptedException {
        thread.join();
    }

    public boolean isAlive() {
        return thread.isAlive();
    }

    /** Why the stage thread stopped on an error, or null (still running, or closed). */
    public Message.Failure endFailure() {
        return endFailure;
    }

    // ---- the stage thread ----

    private void loop() {
        try {
            while (!stopping) {
                long waitStart = System.nanoTime();
                Message message;
                try {
                    message = input.receive();
                } catch (LinkClosedException e) {
                    if (!stopping) fail(INPUT_ENDED + e.getMessage());
                    return;
                }
                idleNanos += System.nanoTime() - waitStart;
                handle(message);
                processed.incrementAndGet();
            }
        } catch (InterruptedException e) {
            // stopped
        } catch (LinkClosedException e) {
            if (!stopping) fail(OUTPUT_FAILED + e.getMessage());
        } catch (RuntimeException | Error e) {
            fail(e.getClass().getSimpleName() + ": " + e.getMessage());
        } finally {
            computeThread.shutdown();
            output.close();
        }
    }

    /**
     * Runs {@code call} on the compute thread and waits for it. Interrupted (the stage is closing, and a run's
     * {@code cancelled} check then answers true), it still waits for the call to end, at the run's next layer,
     * so that nothing computes on the node's pool once this stage's thread has ended.
     */
    private <T> T onComputeThread(Callable<T> call) throws InterruptedException {
        Future<T> result = computeThread.submit(call);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return result.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error r) throw r;
            throw new IllegalStateException(e.getCause());
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    private void fail(String reason) {
        Message.Failure failure = new Message.Failure(index, where, reason);
        endFailure = failure;
        try {
            if (!stopping) output.send(failure);
        } catch (InterruptedException | LinkClosedException ignored) {
            // The head also hears of it through onFailure.
        }
        onFailure.accept(failure);
    }

    private void handle(Message message) throws InterruptedException {
        switch (message) {
            case Run run -> handleRun(run);
            case KvEdit edit -> {
                compute.applyKvEdit(edit);
                kvEdits++;
                if (!compute.isLast()) output.send(edit);
            }
            case Message.Cancelled tombstone -> {
                lastRunSeen = Math.max(lastRunSeen, tombstone.runId());
                cancelledRuns.headSet(tombstone.runId(), true).clear();
                runsCancelled++;
                output.send(tombstone);
            }
            case Message.Failure failure -> output.send(failure);
            case Message.Barrier barrier -> output.send(barrier);
            default -> throw new IllegalStateException("stage " + index + " cannot take " + message
                    + " on its data stream");
        }
    }

    private void handleRun(Run run) throws InterruptedException {
        long id = run.runId();
        if (id <= lastRunSeen) {
            run.release();
            throw new IllegalStateException("run " + id + " arrived after run " + lastRunSeen
                    + ": run ids must ascend along the stream");
        }
        lastRunSeen = id;
        if (cancelledRuns.contains(id)) {
            cancelledRuns.headSet(id, true).clear();
            run.release();
            runsCancelled++;
            output.send(new Message.Cancelled(id, index));
            return;
        }
        cancelledRuns.headSet(id, false).clear();
        checkPayload(run);

        RunHeader header = run.header();
        Activations out = compute.isLast() ? null : pool.acquire(header.tokenCount(), compute.embeddingSize());
        ResultBuilder results = compute.isLast() ? new ResultBuilder(header) : null;
        BooleanSupplier isCancelled = () -> stopping || cancelledRuns.contains(id);
        long start = System.nanoTime();
        busySince = start;
        boolean finished;
        try {
            finished = onComputeThread(() ->
                    compute.compute(header, run.tokens(), run.activations(), out, results, isCancelled));
        } catch (RuntimeException | Error e) {
            if (out != null) out.release();
            throw e;
        } finally {
            busySince = 0;
            run.release();
        }
        long elapsed = System.nanoTime() - start;
        computeNanos += elapsed;
        if (!finished || cancelledRuns.contains(id)) {
            cancelledRuns.remove(id);
            cancelledComputeNanos += elapsed;
            runsCancelled++;
            if (out != null) out.release();
            output.send(new Message.Cancelled(id, index));
            return;
        }
        runsExecuted++;
        output.send(compute.isLast() ? results.build() : Run.ofActivations(header, out));
    }

    private void checkPayload(Run run) {
        if (compute.isFirst() != (run.tokens() != null)) {
            run.release();
            throw new IllegalStateException("stage " + index + " got run " + run.runId() + " with "
                    + (run.tokens() != null ? "token ids" : "activations") + " but expects "
                    + (compute.isFirst() ? "token ids" : "activations"));
        }
        if (run.activations() != null && run.activations().width() != compute.embeddingSize()) {
            int width = run.activations().width();
            run.release();
            throw new IllegalStateException("stage " + index + " got run " + run.runId() + " with activation rows of "
                    + width + " values but n_embd is " + compute.embeddingSize());
        }
    }
}
