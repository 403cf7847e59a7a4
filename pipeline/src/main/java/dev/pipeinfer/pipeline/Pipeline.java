package dev.pipeinfer.pipeline;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The head's side of a pipeline, what the decoders use: submit runs into stage 0, send KV edits down
 * the same ordered stream, broadcast cancellations to every stage directly, and take the answers from
 * the last stage in submission order: for every submitted run exactly one {@link Result} or
 * {@link Message.Cancelled} tombstone.
 *
 * <p>Never a hang: a watchdog pings every stage; a stage that does not answer within the stage timeout,
 * or whose current run has been computing longer than that, ends the pipeline with a
 * {@link StageFailureException} naming the stage and where it runs, as does a broken link or a
 * failing stage.
 */
public final class Pipeline implements AutoCloseable {

    /**
     * @param linkCapacity  messages a link buffers before the sender waits
     * @param stageTimeout  longest a stage may go without answering a ping or computing one run
     * @param linkShape     interconnect to emulate on the links between stages and back to the head
     */
    public record Options(int linkCapacity, Duration stageTimeout, LinkShape linkShape) {
        public Options {
            if (linkShape == null) linkShape = LinkShape.NONE;
        }

        public Options(int linkCapacity, Duration stageTimeout) {
            this(linkCapacity, stageTimeout, LinkShape.NONE);
        }

        public static Options defaults() {
            return new Options(4, Duration.ofSeconds(60));
        }

        public Options withStageTimeout(Duration timeout) {
            return new Options(linkCapacity, timeout, linkShape);
        }

        public Options withLinkShape(LinkShape shape) {
            return new Options(linkCapacity, stageTimeout, shape);
        }
    }

    private final Link submitLink;
    private final Link resultLink;
    private final List<StageControl> stages;
    private final List<AutoCloseable> resources;
    private final FailureLatch failures;
    private final Duration stageTimeout;
    private final Thread watchdog;
    private long lastSubmittedRun = -1;
    private volatile boolean closed;

    /**
     * @param submitLink input of stage 0 (the head writes runs and KV edits here)
     * @param resultLink output of the last stage (results and tombstones, in order)
     * @param stages     control of every stage, index order
     * @param resources  closed, in order, when the pipeline closes (stages, links, connections)
     */
    public Pipeline(Link submitLink, Link resultLink, List<StageControl> stages, List<AutoCloseable> resources,
                    FailureLatch failures, Duration stageTimeout) {
        this.submitLink = submitLink;
        this.resultLink = resultLink;
        this.stages = List.copyOf(stages);
        this.resources = new ArrayList<>(resources);
        this.failures = failures;
        this.stageTimeout = stageTimeout;
        // A failed pipeline takes no more work: a submit blocked on a full stage 0 is released.
        failures.onFirst(() -> submitLink.close());
        if (failures.get() != null) submitLink.close();
        this.watchdog = Thread.ofVirtual().name("pipeline-watchdog").start(this::watch);
    }

    /** N stages in this process, linked by in-memory links; computes[0] is stage 0. */
    public static Pipeline inMemory(List<? extends StageCompute> computes, Options options) {
        if (computes.isEmpty()) throw new IllegalArgumentException("a pipeline needs at least one stage");
        FailureLatch failures = new FailureLatch();
        ActivationPool pool = new ActivationPool(4 + 2 * computes.size());
        List<Link> links = new ArrayList<>();
        for (int i = 0; i <= computes.size(); i++) {
            String name = i == 0 ? "head->0" : i == computes.size() ? (i - 1) + "->head" : (i - 1) + "->" + i;
            Link link = new InMemoryLink(name, options.linkCapacity());
            links.add(i == 0 ? link : options.linkShape().onSend(link)); // stage 0 runs on the head
        }
        List<StageControl> controls = new ArrayList<>();
        List<AutoCloseable> resources = new ArrayList<>();
        for (int i = 0; i < computes.size(); i++) {
            Stage stage = new Stage(i, "local", computes.get(i), links.get(i), links.get(i + 1), pool, failures::report);
            controls.add(new LocalStageControl(stage));
            stage.start();
        }
        resources.addAll(controls);
        resources.addAll(links);
        return new Pipeline(links.getFirst(), links.getLast(), controls, resources, failures, options.stageTimeout());
    }

    public int stageCount() {
        return stages.size();
    }

    /**
     * Sends a run into stage 0; run ids must strictly increase. Blocks while stage 0's input is full.
     * Submits and KV edits from several threads are serialized, so their order is one stream.
     */
    public synchronized void submit(Run run) throws InterruptedException {
        checkFailure();
        if (run.runId() <= lastSubmittedRun) {
            throw new IllegalArgumentException("run id " + run.runId() + " after " + lastSubmittedRun
                    + ": run ids must strictly increase");
        }
        lastSubmittedRun = run.runId();
        sendDown(run);
    }

    /** Sends a KV edit down the ring, ordered with the runs. */
    public synchronized void send(KvEdit edit) throws InterruptedException {
        checkFailure();
        sendDown(edit);
    }

    /** Sends a barrier down the ring, ordered with the runs and edits; {@link #next} returns it when it is back. */
    public synchronized void send(Message.Barrier barrier) throws InterruptedException {
        checkFailure();
        sendDown(barrier);
    }

    private void sendDown(Message m) throws InterruptedException {
        try {
            submitLink.send(m);
        } catch (LinkClosedException e) {
            checkFailure();
            throw new StageFailureException(new Message.Failure(0, submitLink.describe(), e.getMessage()));
        }
    }

    /**
     * Tells every stage directly to drop these runs; those already done are unaffected. Never waits
     * behind the data stream (callable while another thread is blocked in {@link #submit}).
     */
    public void cancel(long... runIds) {
        for (StageControl stage : stages) stage.cancel(runIds);
    }

    /**
     * The next result or tombstone, waiting as long as the stages are alive (and forever if no run is
     * in flight). One consumer thread at a time.
     */
    public Message next() throws InterruptedException {
        Message m;
        do {
            m = next(Duration.ofSeconds(1));
        } while (m == null);
        return m;
    }

    /**
     * The next {@link Result}, {@link Message.Cancelled} or {@link Message.Barrier} in submission order, or null after the
     * timeout. Throws {@link StageFailureException} once any stage has failed.
     */
    public Message next(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            checkFailure();
            long left = deadline - System.nanoTime();
            if (left <= 0) return null;
            Message m;
            try {
                m = resultLink.poll(Math.min(left, 50_000_000L), TimeUnit.NANOSECONDS);
            } catch (LinkClosedException e) {
                checkFailure();
                throw new StageFailureException(new Message.Failure(stages.size() - 1, resultLink.describe(),
                        "results link ended: " + e.getMessage()));
            }
            switch (m) {
                case null -> { }
                case Result r -> { return r; }
                case Message.Cancelled c -> { return c; }
                case Message.Barrier b -> { return b; }
                case Message.Failure f -> {
                    failures.report(f);
                    checkFailure();
                }
                default -> {
                    Message.Failure f = new Message.Failure(stages.size() - 1, resultLink.describe(),
                            "unexpected message on the results stream: " + m);
                    failures.report(f);
                    checkFailure();
                }
            }
        }
    }

    /**
     * Throws the pipeline's failure, if any, naming the root cause. A dead worker is noticed by its
     * neighbours (input ended, output failed) and by the head (session lost) in any order; when the
     * first report is only such a consequence, the neighbour it points at is asked whether it is
     * alive, and if it is not, that neighbour is named instead.
     */
    private void checkFailure() {
        Message.Failure f = failures.get();
        if (f == null) return;
        for (int hops = 0; hops < stages.size(); hops++) {
            int suspect = blamedNeighbour(f);
            if (suspect < 0 || suspect >= stages.size()) break;
            try {
                stages.get(suspect).ping(Duration.ofMillis(Math.min(stageTimeout.toMillis(), 2000)));
                break;
            } catch (StageFailureException e) {
                // Stage 0 stops once the first failure closes the submit stream; a stage that only
                // lost the head's side of the stream is a consequence of that, not the root cause.
                int next = blamedNeighbour(e.failure());
                if (isConsequence(e.failure()) && (next < 0 || next >= stages.size())) break;
                f = e.failure();
            }
        }
        throw new StageFailureException(f);
    }

    private static boolean isConsequence(Message.Failure f) {
        return f.reason().startsWith(Stage.INPUT_ENDED) || f.reason().startsWith(Stage.OUTPUT_FAILED);
    }

    /** The stage a consequence failure points at (its upstream or downstream neighbour), else -1. */
    private static int blamedNeighbour(Message.Failure f) {
        return f.reason().startsWith(Stage.INPUT_ENDED) ? f.stageIndex() - 1
                : f.reason().startsWith(Stage.OUTPUT_FAILED) ? f.stageIndex() + 1 : -1;
    }

    public List<StageStats> stats() {
        List<StageStats> all = new ArrayList<>();
        for (StageControl stage : stages) all.add(stage.stats(stageTimeout));
        return all;
    }

    /** The first failure, or null while all is well. */
    public Message.Failure failure() {
        return failures.get();
    }

    private void watch() {
        // Ping often enough to notice a dead stage well within the timeout, and to keep workers (which
        // end a session whose head stays silent for minutes) sure that the head is alive.
        long interval = Math.clamp(stageTimeout.toMillis() / 4, 10, 30_000);
        try {
            while (!closed && failures.get() == null) {
                Thread.sleep(interval);
                for (StageControl stage : stages) {
                    if (closed) return;
                    try {
                        Message.Pong pong = stage.ping(stageTimeout);
                        if (pong.busyMillis() > stageTimeout.toMillis()) {
                            failures.report(new Message.Failure(stage.index(), stage.where(), "stalled: its current run "
                                    + "has been computing for " + pong.busyMillis() + " ms, over the stage timeout of "
                                    + stageTimeout.toMillis() + " ms"));
                        }
                    } catch (StageFailureException e) {
                        failures.report(e.failure());
                    }
                }
            }
        } catch (InterruptedException e) {
            // closing
        }
    }

    /** Stops every stage and closes links and connections. Results not yet taken are lost. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        watchdog.interrupt();
        for (AutoCloseable r : resources) {
            try {
                r.close();
            } catch (Exception ignored) {
                // closing everything regardless
            }
        }
    }
}
