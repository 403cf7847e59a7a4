package dev.pipeinfer.speculation;

import dev.pipeinfer.pipeline.KvEdit;
import dev.pipeinfer.pipeline.Message;
import dev.pipeinfer.pipeline.Result;
import dev.pipeinfer.pipeline.ResultForm;
import dev.pipeinfer.pipeline.Run;
import dev.pipeinfer.pipeline.RunHeader;
import dev.pipeinfer.pipeline.StageStats;
import dev.pipeinfer.transformer.sampling.Sampler;
import dev.pipeinfer.transformer.sampling.SamplingParams;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One generation of {@link SpeculativeDecoder} (the algorithm is described there): its state, which lives on the
 * caller's thread (plus the pump and the draft thread), and its event loop.
 */
final class SpeculationSession {
    private final Head head;
    private final DraftModel draft;
    private final SpeculationParams params;
    private final boolean pipelined;
    private final GenerationRequest request;
    private final TokenListener listener;
    private final DecodeMetrics metrics;
    private final SamplingParams sampling;
    private final ResultForm form;
    private final Sampler sampler;
    private final Verifier verifier;
    private final int[] ids;
    private final float[] probs;
    private final SequencePool pool = new SequencePool();
    private final ConfidenceCutoff cutoff;
    private final ArrayDeque<TreeRun> submitted = new ArrayDeque<>(); // every run not yet answered, in order
    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final int promptLength;
    private final int maxPosition; // last position whose token can still be emitted

    private int[] text;       // prompt + emitted tokens
    private int textLength;
    private int[] frontier;   // text + main paths of the valid runs in flight
    private int frontierLength;
    private volatile long frontierVersion; // read by the draft thread to abandon a stale draft
    private boolean drafting;
    private long draftVersion;
    private int draftBase;
    private final ArrayDeque<Event> deferred = new ArrayDeque<>();
    private boolean draftExhausted;
    private boolean finished;
    private StopReason stop = StopReason.LENGTH;
    private volatile boolean pumping = true;

    /** What the decoding loop waits for: an answer from the pipeline or a finished draft. */
    private sealed interface Event permits Answer, Drafted, Failed {
    }

    private record Answer(Message message) implements Event {
    }

    private record Drafted(long frontierVersion, DraftTree tree) implements Event {
    }

    private record Failed(Throwable cause) implements Event {
    }

    SpeculationSession(Head head, DraftModel draft, SpeculationParams params, boolean pipelined, String mode,
                       GenerationRequest request, TokenListener listener) {
        this.head = head;
        this.draft = draft;
        this.params = params;
        this.pipelined = pipelined;
        this.metrics = new DecodeMetrics(mode);
        this.cutoff = new ConfidenceCutoff(params);
        this.request = request;
        this.listener = listener;
        this.sampling = request.sampling();
        this.form = PromptRuns.formFor(sampling);
        this.sampler = new Sampler(sampling, head.vocabSize());
        this.verifier = new Verifier(head.vocabSize(), sampling.seed());
        this.ids = new int[head.vocabSize()];
        this.probs = new float[head.vocabSize()];
        this.promptLength = request.prompt().length;
        this.maxPosition = Math.min(head.contextSize() - 1, promptLength + Math.max(request.maxTokens(), 1) - 1);
        this.text = Arrays.copyOf(request.prompt(), promptLength + request.maxTokens() + 1);
        this.textLength = promptLength;
        this.frontier = Arrays.copyOf(request.prompt(), promptLength + request.maxTokens() + 64);
        this.frontierLength = promptLength;
    }

    GenerationResult run() throws InterruptedException {
        List<StageStats> before = head.pipeline().stats();
        long draftBefore = draft.busyNanos();
        metrics.restart();
        head.clearCaches();
        Result last = PromptRuns.evaluate(head, request.prompt(), form);
        metrics.promptDone(promptLength);
        // The draft reads the prompt only now: run beside the target's prompt it took cores from the
        // stages (time to first token +10-20 % on two cores); now it overlaps the first target runs.
        var draftReady = draft.start(request.prompt(), sampling, sampling.seed() ^ 0x5DEECE66DL);
        Thread pump = Thread.ofVirtual().name("results").start(this::pump);
        try {
            if (request.maxTokens() == 0) {
                finished = true;
            } else {
                loadTarget(last, 0);
                int first = verifier.drawResidual();
                if (emit(first)) afterBreak(first);
            }
            draftReady.join();
            while (!finished) {
                maybeDraft();
                handle(deferred.isEmpty() ? events.take() : deferred.poll());
            }
            finish();
        } finally {
            pumping = false;
            pump.join();
        }
        metrics.finish();
        metrics.stages(before, head.pipeline().stats());
        metrics.draftNanos = draft.busyNanos() - draftBefore;
        return new GenerationResult(Arrays.copyOfRange(text, promptLength, textLength), stop, metrics);
    }

    // ---- events ---------------------------------------------------------------------------------------

    private void pump() {
        try {
            while (pumping) {
                Message m = head.pipeline().next(Duration.ofMillis(20));
                if (m != null) events.add(new Answer(m));
            }
        } catch (Throwable t) {
            events.add(new Failed(t));
        }
    }

    private void handle(Event e) throws InterruptedException {
        switch (e) {
            case Answer a -> answer(a.message());
            case Drafted d -> {
                drafting = false;
                if (finished || d.frontierVersion() != frontierVersion) return;
                if (d.tree().isEmpty() || !canSpeculate()) {
                    draftExhausted = d.tree().isEmpty();
                    return;
                }
                launchChained(d.tree());
            }
            case Failed f -> {
                if (f.cause() instanceof RuntimeException r) throw r;
                if (f.cause() instanceof Error err) throw err;
                throw new IllegalStateException(f.cause());
            }
        }
    }

    private void answer(Message m) throws InterruptedException {
        TreeRun run = submitted.pollFirst();
        long id = switch (m) {
            case Result r -> r.runId();
            case Message.Cancelled c -> c.runId();
            default -> throw new IllegalStateException("the pipeline answered a run with " + m);
        };
        if (run == null || run.id != id) {
            throw new IllegalStateException("pipeline answered run " + id + " but run "
                    + (run == null ? "none" : run.id) + " was next");
        }
        if (run.cancelled) return; // its ids were released and removed when it was cancelled
        if (!(m instanceof Result result)) {
            throw new IllegalStateException("run " + id + " was dropped by stage "
                    + ((Message.Cancelled) m).droppedAtStage() + " though the head never cancelled it");
        }
        draftExhausted = false;
        verify(run, result);
    }

    // ---- verification ---------------------------------------------------------------------------------

    /**
     * Walks down the run's tree from the node the previous verification accepted, accepting children
     * by {@link Verifier}; at the main path's end the children are the roots of the next run in flight.
     */
    private void verify(TreeRun run, Result result) throws InterruptedException {
        TreeRun next = submitted.peekFirst();
        int node = run.acceptedRoot;
        if (node < 0) throw new IllegalStateException("run " + run.id + " verified without an accepted root");
        List<KvEdit.Op> ops = new ArrayList<>();
        boolean chainContinues = false;
        boolean followedSideRoot = false;
        boolean triedAndRejected = false;
        int breakToken = -1;
        boolean stopped = false;
        lateRoot = null;
        walk:
        while (true) {
            loadTarget(result, node);
            for (int c = node + 1; c < run.size(); c++) {
                if (run.parents[c] != node) continue;
                if (verifier.tryChild(run.tokens[c], run.proposalIds[c], run.proposalProbs[c])) {
                    metrics.accepted++;
                    node = c;
                    if (!emit(run.tokens[c])) {
                        stopped = true;
                        break walk;
                    }
                    continue walk;
                }
                triedAndRejected = true;
            }
            if (node == run.mainEnd() && next != null && !next.cancelled && !next.certainRoot) {
                for (int c = 0; c < next.size() && next.depths[c] == 0; c++) {
                    if (verifier.tryChild(next.tokens[c], next.proposalIds[c], next.proposalProbs[c])) {
                        metrics.accepted++;
                        if (!emit(next.tokens[c])) {
                            stopped = true;
                        } else {
                            if (c != next.mainPath[0]) { // a side root: next computed it too, so it stays;
                                // the runs after it assumed the main root and go (cancelAfter below)
                                next.followBranchOf(c);
                                followedSideRoot = true;
                            }
                            next.acceptedRoot = c;
                            chainContinues = true;
                        }
                        break walk;
                    }
                    triedAndRejected = true;
                }
            }
            if (node == run.mainEnd() && drafting && draftVersion == frontierVersion
                    && draftBase == run.position(node) + 1) {
                // The next speculative run is still being drafted: rather than guess without it, wait for
                // its roots and try them against this row, as if the run had been launched in time.
                DraftTree late = awaitDraft();
                for (int c = 0; c < late.size() && late.depths()[c] == 0; c++) {
                    if (verifier.tryChild(late.tokens()[c], late.proposalIds()[c], late.proposalProbs()[c])) {
                        metrics.drafted += 1;
                        metrics.accepted++;
                        if (emit(late.tokens()[c])) {
                            lateRoot = late.below(c);
                            breakToken = late.tokens()[c];
                        } else {
                            stopped = true;
                        }
                        break walk;
                    }
                    metrics.drafted += 1;
                    triedAndRejected = true;
                }
            }
            int token = verifier.drawResidual();
            if (emit(token)) breakToken = token;
            else stopped = true;
            break;
        }
        // One KV edit: the accepted path into sequence 0, this run's ids out, cancelled runs' ids out.
        int seq = run.sequenceOf(node);
        if (seq >= 0 && !(run.certainRoot && node == 0)) ops.add(new KvEdit.Commit(seq, 0, run.base, run.position(node) + 1));
        for (int s : run.seqIds) ops.add(new KvEdit.Remove(s, 0, Integer.MAX_VALUE));
        pool.give(run.seqIds);
        if (!chainContinues) cancelInFlight(ops);
        else if (followedSideRoot) cancelAfter(next, ops);
        if (!ops.isEmpty()) head.pipeline().send(new KvEdit(ops));
        if (triedAndRejected) cutoff.rejected();
        else if (node == run.mainEnd()) cutoff.accepted();
        if (stopped || finished) {
            finished = true;
            return;
        }
        if (!chainContinues) afterBreak(breakToken);
    }

    /** The tree below a late-drafted root that verification accepted, to launch under it; else null. */
    private DraftTree lateRoot;

    /** Waits for the draft in progress, keeping other events for later. */
    private DraftTree awaitDraft() throws InterruptedException {
        while (true) {
            Event e = events.take();
            if (e instanceof Drafted d) {
                drafting = false;
                return d.frontierVersion() == frontierVersion ? d.tree() : DraftTree.EMPTY;
            }
            if (e instanceof Failed) handle(e);
            deferred.add(e);
        }
    }

    /**
     * Cancels every run in flight (all assumed a prefix that is now false), adding the removal of their ids;
     * the frontier is cut back to the text and drafts in progress become stale.
     */
    private void cancelInFlight(List<KvEdit.Op> ops) {
        cancelAfter(null, ops);
    }

    /**
     * Cancels the runs in flight after {@code kept}, the first of them (all of them when null), adding the
     * removal of their ids, and cuts the frontier back to the text plus what {@code kept} still stands
     * for: the rest of the branch whose side root was just accepted (the runs after it had assumed its
     * main path). Drafts in progress become stale.
     */
    private void cancelAfter(TreeRun kept, List<KvEdit.Op> ops) {
        if (kept != null && kept != submitted.peekFirst()) throw new IllegalStateException("run " + kept.id + " is not next");
        List<Long> cancelled = new ArrayList<>();
        for (TreeRun r : submitted) {
            if (r == kept || r.cancelled) continue;
            r.cancelled = true;
            cancelled.add(r.id);
            for (int s : r.seqIds) ops.add(new KvEdit.Remove(s, 0, Integer.MAX_VALUE));
            pool.give(r.seqIds);
        }
        if (!cancelled.isEmpty()) {
            head.pipeline().cancel(cancelled.stream().mapToLong(Long::longValue).toArray());
            metrics.runsCancelled += cancelled.size();
        }
        frontierLength = textLength;
        System.arraycopy(text, 0, frontier, 0, textLength);
        if (kept != null) extendFrontier(kept, 1);
        frontierVersion++;
    }

    /** The target's distribution after node {@code row} of a result, in the verifier. */
    private void loadTarget(Result result, int row) {
        if (form == ResultForm.ARGMAX) {
            verifier.loadTarget(result.argmax()[row]);
            return;
        }
        int window = sampling.repeatLastN();
        if (window > 0) {
            sampler.resetHistory();
            for (int i = Math.max(0, textLength - window); i < textLength; i++) sampler.accept(text[i]);
        }
        int n = sampler.distribution(result.logits(), row * result.vocabSize(), ids, probs);
        verifier.loadTarget(ids, probs, n);
    }

    /** Emits an accepted token; returns false when generation ends here (end token, length, context). */
    private boolean emit(int token) {
        if (request.stopAt().test(token)) {
            stop = StopReason.END_OF_GENERATION;
            finished = true;
            return false;
        }
        text[textLength++] = token;
        if (frontierLength < textLength || frontier[textLength - 1] != token) {
            frontier[textLength - 1] = token; // (only when the frontier was already cut back to the text)
            frontierLength = textLength;
        }
        metrics.tokenEmitted();
        listener.onToken(token);
        if (textLength - promptLength == request.maxTokens()) {
            finished = true;
            return false;
        }
        if (textLength - 1 >= head.contextSize() - 1) {
            stop = StopReason.CONTEXT_FULL;
            finished = true;
            return false;
        }
        return true;
    }

    // ---- launching ------------------------------------------------------------------------------------

    /**
     * Nothing valid is in flight and {@code token} (just emitted) has no K/V yet: launch the run that
     * computes it. In pipeinfer mode that is the guaranteed single-token run; speculative mode drafts a
     * tree below it first and sends both as one run.
     */
    private void afterBreak(int token) throws InterruptedException {
        int position = textLength - 1;
        DraftTree tree = DraftTree.EMPTY;
        if (lateRoot != null) {
            tree = lateRoot; // the rest of a late draft whose root was just accepted
            lateRoot = null;
        } else if (!pipelined || params.draftFirstRun()) {
            int budget = budget(1);
            if (budget > 0) {
                tree = draft.draft(Arrays.copyOf(text, textLength), new DraftModel.Request(budget, params.branches(),
                        cutoff.value(), params.pSplit(), maxPosition)).join();
            }
        }
        int[] seqIds = pool.take(tree.isEmpty() ? 0 : tree.branches());
        TreeRun run = TreeRun.rootedAt(head.newRunId(), token, position, tree, seqIds);
        launch(run);
        extendFrontier(run, 1);
    }

    private void launchChained(DraftTree tree) throws InterruptedException {
        int[] seqIds = pool.take(tree.branches());
        TreeRun run = TreeRun.chained(head.newRunId(), frontierLength, tree, seqIds);
        launch(run);
        extendFrontier(run, 0);
    }

    /** Appends the tokens of {@code run}'s main path, from its node {@code from} on, to the frontier. */
    private void extendFrontier(TreeRun run, int from) {
        for (int i = from; i < run.mainPath.length; i++) frontier[frontierLength++] = run.tokens[run.mainPath[i]];
    }

    /** Sends the setup edit (the run's ids see its assumed prefix) and the run. */
    private void launch(TreeRun run) throws InterruptedException {
        if (run.seqIds.length > 0) {
            List<KvEdit.Op> ops = new ArrayList<>();
            for (int s : run.seqIds) {
                ops.add(new KvEdit.Commit(0, s, 0, Integer.MAX_VALUE));
                for (TreeRun ahead : submitted) {
                    if (ahead.cancelled || ahead.mainSequence() < 0) continue;
                    ops.add(new KvEdit.Commit(ahead.mainSequence(), s, ahead.base, ahead.position(ahead.mainEnd()) + 1));
                }
            }
            head.pipeline().send(new KvEdit(ops));
        }
        int[] outputs = new int[run.size()];
        int[] positions = new int[run.size()];
        for (int i = 0; i < run.size(); i++) {
            outputs[i] = i;
            positions[i] = run.position(i);
        }
        head.pipeline().submit(Run.ofTokens(new RunHeader(run.id, run.kind, positions, run.sequenceSets, outputs, form),
                run.tokens));
        submitted.addLast(run);
        metrics.runsLaunched++;
        metrics.drafted += run.draftedCount();
    }

    /** Pipeinfer: start drafting the next chained run if there is room for one. */
    private void maybeDraft() {
        if (!pipelined || drafting || draftExhausted || !canSpeculate()) return;
        int budget = budget(0);
        if (budget <= 0) return;
        drafting = true;
        long version = frontierVersion;
        draftVersion = version;
        draftBase = frontierLength;
        draft.draft(Arrays.copyOf(frontier, frontierLength), new DraftModel.Request(budget, params.branches(),
                cutoff.value(), params.pSplit(), maxPosition, () -> frontierVersion != version)).whenComplete((tree, failure) ->
                events.add(failure != null ? new Failed(failure) : new Drafted(version, tree)));
    }

    private boolean canSpeculate() {
        int live = 0;
        for (TreeRun r : submitted) if (!r.cancelled) live++;
        return live > 0 && live <= params.maxRunsInFlight() && frontierLength <= maxPosition
                && pool.available() >= params.branches();
    }

    /** Tokens a new run may draft: within --draft-max, the positions still useful, and the free KV cells. */
    private int budget(int extra) {
        int inFlight = extra;
        for (TreeRun r : submitted) if (!r.cancelled) inFlight += r.size();
        int cellsLeft = head.contextSize() - frontierLength - inFlight;
        return Math.max(0, Math.min(Math.min(params.draftMax(), cellsLeft), maxPosition - frontierLength + 1));
    }

    // ---- the end --------------------------------------------------------------------------------------

    /**
     * Cancels what is still in flight, waits for every answer, then leaves sequence 0 exactly as
     * iterative decoding would (the prompt and the emitted tokens that a run computed, the last
     * emitted token excluded unless generation ended on an end token) and waits until every stage has
     * applied that.
     */
    private void finish() throws InterruptedException {
        List<KvEdit.Op> ops = new ArrayList<>();
        cancelInFlight(ops);
        int generated = textLength - promptLength;
        int keep = stop == StopReason.END_OF_GENERATION ? textLength : Math.max(promptLength, textLength - 1);
        ops.add(new KvEdit.Remove(0, keep, Integer.MAX_VALUE));
        head.pipeline().send(new KvEdit(ops));
        long barrier = head.sendBarrier();
        while (true) {
            Event e = deferred.isEmpty() ? events.take() : deferred.poll();
            if (e instanceof Failed) handle(e);
            if (e instanceof Drafted) drafting = false;
            if (!(e instanceof Answer a)) continue;
            if (a.message() instanceof Message.Barrier b && b.id() == barrier) break;
            answer(a.message());
        }
        if (!submitted.isEmpty()) throw new IllegalStateException(submitted.size() + " runs unanswered at the end");
        while (drafting) {
            Event e = events.take();
            if (e instanceof Drafted) drafting = false;
            else if (e instanceof Failed) handle(e);
        }
        if (generated < 0) throw new IllegalStateException("negative generation");
    }
}
