package dev.pipeinfer.speculation;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.tensor.Exponential;
import dev.pipeinfer.transformer.Batch;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOptions;
import dev.pipeinfer.transformer.SliceOutput;
import dev.pipeinfer.transformer.kv.KvCache;
import dev.pipeinfer.transformer.kv.SequenceSet;
import dev.pipeinfer.transformer.model.ModelConfig;
import dev.pipeinfer.transformer.sampling.Sampler;
import dev.pipeinfer.transformer.sampling.SamplingParams;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/**
 * The draft model on the head (DESIGN §4): the whole model as one slice with its own thread pool and its
 * own sequence-aware KV cache, driven by one platform thread of its own so the decoder can take pipeline
 * results while the draft computes. Every call is queued to that thread, in order.
 *
 * <p>The cache keeps sequence 0 equal to a prefix of the last context it was asked about; a new context
 * reuses the longest common prefix and recomputes the rest (rollback after a rejection is
 * {@code removeSequence} of the positions that no longer hold). Tree branches live in sequences 1..8
 * while drafting; afterwards the main branch is kept in sequence 0 and the others are removed.
 */
public final class DraftModel implements AutoCloseable {
    private static final long SEQ_0 = SequenceSet.of(0);
    private static final int CHUNK = 64;

    private final GgufFile file;
    private final ComputePool pool;
    private final LayerSlice slice;
    private final int vocab;
    private final ExecutorService thread;

    private int[] cached = new int[0]; // tokens whose K/V sit in sequence 0 at positions 0..cached.length-1
    // The logits after cached's last token, when known: the decoder asks again for the same context after
    // each result while the draft is unsure there, and such a request then costs no forward pass.
    private float[] cachedLogits;
    private Sampler sampler;
    private SamplingParams sampling = SamplingParams.greedy();
    private SplittableRandom random = new SplittableRandom(0);
    private final int[] ids;
    private final float[] probs;
    private final float[] softmaxScratch;
    private volatile long busyNanos;

    private DraftModel(GgufFile file, ComputePool pool, LayerSlice slice) {
        this.file = file;
        this.pool = pool;
        this.slice = slice;
        this.vocab = slice.config().vocabSize();
        this.ids = new int[vocab];
        this.probs = new float[vocab];
        this.softmaxScratch = new float[vocab];
        this.sampler = new Sampler(sampling, vocab);
        this.thread = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("draft").factory());
    }

    /**
     * Loads the draft model after checking that it shares the target's vocabulary.
     *
     * @param target the target model's file (for the vocabulary check and the error message)
     */
    public static DraftModel open(Path draft, GgufFile target, SliceOptions options, int threads) throws IOException {
        GgufFile file = GgufFile.open(draft);
        ComputePool pool = null;
        try {
            VocabularyCheck.requireSame(target.metadata(), target.path().toString(), file.metadata(), draft.toString());
            ModelConfig config = ModelConfig.from(file);
            int ctx = options.contextSize();
            pool = new ComputePool(Math.max(1, threads));
            LayerSlice slice = LayerSlice.loadAll(file, options, pool);
            if (config.vocabSize() <= 0) throw new IllegalArgumentException(draft + ": no vocabulary size");
            if (ctx <= 0) throw new IllegalArgumentException("draft context size " + ctx);
            return new DraftModel(file, pool, slice);
        } catch (RuntimeException e) {
            if (pool != null) pool.close();
            file.close();
            throw e;
        }
    }

    public Path path() {
        return file.path();
    }

    public int vocabSize() {
        return vocab;
    }

    /**
     * Starts a generation: forgets the cache and sampler state, then computes the prompt (all but its last
     * token, which the first draft takes) so that it overlaps with the target's prompt processing.
     */
    public CompletableFuture<Void> start(int[] prompt, SamplingParams params, long seed) {
        int[] context = prompt.clone();
        return CompletableFuture.runAsync(() -> {
            slice.kvCache().clear();
            cached = new int[0];
            cachedLogits = null;
            sampling = params;
            sampler = new Sampler(params, vocab);
            random = new SplittableRandom(seed);
            if (context.length > 1) sync(context, context.length - 1, false);
        }, thread);
    }

    /**
     * What to draft: at most {@code maxNodes} tokens at positions up to {@code maxPosition}. Drafting stops
     * early, between two draft steps, once {@code abandoned} says the tree is no longer wanted (the context
     * it extends was just rejected), so that the next request does not queue behind it.
     */
    record Request(int maxNodes, int branches, float cutoff, float pSplit, int maxPosition, BooleanSupplier abandoned) {
        Request(int maxNodes, int branches, float cutoff, float pSplit, int maxPosition) {
            this(maxNodes, branches, cutoff, pSplit, maxPosition, () -> false);
        }
    }

    /** Drafts a tree after {@code context} (whose last token the draft may not have seen yet). */
    public CompletableFuture<DraftTree> draft(int[] context, Request request) {
        int[] ctx = context.clone();
        return CompletableFuture.supplyAsync(() -> {
            long start = System.nanoTime();
            try {
                return tree(ctx, request);
            } finally {
                busyNanos += System.nanoTime() - start;
            }
        }, thread);
    }

    /** Time the draft thread has spent drafting trees, since the model was opened. */
    public long busyNanos() {
        return busyNanos;
    }

    // ---- on the draft thread ----------------------------------------------------------------------------

    /**
     * Brings sequence 0 to {@code context[0..upTo)}; returns the logits of its last token if asked (possibly
     * the kept {@link #cachedLogits} array: read only).
     */
    private float[] sync(int[] context, int upTo, boolean wantLogits) {
        int common = 0;
        int limit = Math.min(cached.length, upTo);
        while (common < limit && cached[common] == context[common]) common++;
        boolean sameContext = common == upTo && cached.length == upTo;
        if (wantLogits && sameContext && cachedLogits != null) return cachedLogits;
        if (wantLogits && common == upTo) common = upTo - 1;
        cached = Arrays.copyOf(cached, common); // (what still holds should the forward pass below fail)
        cachedLogits = null;
        KvCache kv = slice.kvCache();
        kv.removeSequence(0, common, -1);
        float[] logits = null;
        for (int start = common; start < upTo; start += CHUNK) {
            int n = Math.min(CHUNK, upTo - start);
            int[] positions = new int[n];
            long[] sets = new long[n];
            boolean[] outputs = new boolean[n];
            for (int i = 0; i < n; i++) {
                positions[i] = start + i;
                sets[i] = SEQ_0;
            }
            boolean last = start + n == upTo;
            if (wantLogits && last) outputs[n - 1] = true;
            SliceOutput out = slice.forward(Batch.ofTokens(Arrays.copyOfRange(context, start, start + n), positions, sets, outputs));
            if (wantLogits && last) logits = out.row(0);
        }
        cached = Arrays.copyOf(context, upTo);
        cachedLogits = logits;
        return logits;
    }

    private final class Branch {
        final int seq;
        final int index;
        final List<Integer> path = new ArrayList<>();
        float[] logits;
        boolean active = true;

        Branch(int seq, int index) {
            this.seq = seq;
            this.index = index;
        }
    }

    private DraftTree tree(int[] context, Request request) {
        if (request.abandoned().getAsBoolean()) return DraftTree.EMPTY;
        int base = context.length;
        float[] rootLogits = sync(context, base, true);
        KvCache kv = slice.kvCache();
        List<Branch> branches = new ArrayList<>();
        Branch main = new Branch(1, 0);
        main.logits = rootLogits;
        branches.add(main);
        kv.copySequence(0, main.seq, 0, -1);

        List<Integer> tokens = new ArrayList<>(), parents = new ArrayList<>(), depths = new ArrayList<>();
        List<Long> masks = new ArrayList<>();
        List<int[]> propIds = new ArrayList<>();
        List<float[]> propProbs = new ArrayList<>();
        int evaluatedMain = 0; // main-path nodes whose K/V the draft computed
        try {
            while (true) {
                List<Integer> level = new ArrayList<>(); // new node indices
                List<Branch> owners = new ArrayList<>();
                int branchCount = branches.size();
                for (int bi = 0; bi < branchCount; bi++) {
                    Branch b = branches.get(bi);
                    if (!b.active) continue;
                    int depth = b.path.size();
                    if (tokens.size() >= request.maxNodes() || base + depth > request.maxPosition()) {
                        b.active = false;
                        continue;
                    }
                    Confidence c = confidence(b.logits, softmaxScratch);
                    if (c.p1 < request.cutoff()) {
                        b.active = false;
                        continue;
                    }
                    int parent = b.path.isEmpty() ? -1 : b.path.getLast();
                    setHistory(context, tokens, b.path);
                    int n = sampler.distribution(b.logits, 0, ids, probs);
                    int token;
                    int[] pIds = null;
                    float[] pProbs = null;
                    if (sampling.isGreedy()) {
                        token = ids[0];
                    } else {
                        token = drawFrom(n);
                        pIds = Arrays.copyOf(ids, n);
                        pProbs = Arrays.copyOf(probs, n);
                    }
                    int node = tokens.size();
                    tokens.add(token);
                    parents.add(parent);
                    depths.add(depth);
                    masks.add(1L << b.index);
                    propIds.add(pIds);
                    propProbs.add(pProbs);
                    // A runner-up likely enough starts a new branch beside this node, sharing its ancestors.
                    if (branches.size() < request.branches() && tokens.size() < request.maxNodes() && c.p2 > request.pSplit()) {
                        int alt = c.top1 != token ? c.top1 : c.top2;
                        Branch nb = new Branch(1 + branches.size(), branches.size());
                        nb.path.addAll(b.path);
                        for (int a : b.path) masks.set(a, masks.get(a) | (1L << nb.index));
                        kv.copySequence(b.seq, nb.seq, 0, -1);
                        int altNode = tokens.size();
                        tokens.add(alt);
                        parents.add(parent);
                        depths.add(depth);
                        masks.add(1L << nb.index);
                        propIds.add(null);
                        propProbs.add(null);
                        nb.path.add(altNode);
                        branches.add(nb);
                        level.add(altNode);
                        owners.add(nb);
                    }
                    b.path.add(node);
                    level.add(node);
                    owners.add(b);
                }
                if (level.isEmpty() || tokens.size() >= request.maxNodes() || request.abandoned().getAsBoolean()) break;
                // The new nodes' logits, for the next level: one batch for all branches.
                int n = level.size();
                int[] batchTokens = new int[n], positions = new int[n];
                long[] sets = new long[n];
                boolean[] outputs = new boolean[n];
                for (int i = 0; i < n; i++) {
                    int node = level.get(i);
                    batchTokens[i] = tokens.get(node);
                    positions[i] = base + depths.get(node);
                    sets[i] = SequenceSet.of(owners.get(i).seq);
                    outputs[i] = true;
                }
                SliceOutput out = slice.forward(Batch.ofTokens(batchTokens, positions, sets, outputs));
                for (int i = 0; i < n; i++) {
                    owners.get(i).logits = out.row(i);
                    if (owners.get(i) == main) evaluatedMain++;
                }
            }
            // Keep the main branch's computed cells as the continuation of sequence 0.
            kv.copySequence(main.seq, 0, base, -1);
            int[] mainPath = main.path.stream().mapToInt(Integer::intValue).toArray();
            int[] next = Arrays.copyOf(context, base + evaluatedMain);
            for (int i = 0; i < evaluatedMain; i++) next[base + i] = tokens.get(mainPath[i]);
            cached = next;
            cachedLogits = main.logits; // the main branch's last computed row, which follows cached's last token
            return new DraftTree(tokens.stream().mapToInt(Integer::intValue).toArray(),
                    parents.stream().mapToInt(Integer::intValue).toArray(),
                    depths.stream().mapToInt(Integer::intValue).toArray(),
                    masks.stream().mapToLong(Long::longValue).toArray(), branches.size(), mainPath,
                    propIds.toArray(new int[0][]), propProbs.toArray(new float[0][]));
        } finally {
            for (Branch b : branches) kv.removeSequence(b.seq, 0, -1);
        }
    }

    /** The sampler's history: the last tokens of the context followed by the branch's path. */
    private void setHistory(int[] context, List<Integer> tokens, List<Integer> path) {
        int window = sampling.repeatLastN();
        if (window == 0) return;
        sampler.resetHistory();
        int fromPath = Math.min(window, path.size());
        int fromContext = Math.min(window - fromPath, context.length);
        for (int i = context.length - fromContext; i < context.length; i++) sampler.accept(context[i]);
        for (int i = path.size() - fromPath; i < path.size(); i++) sampler.accept(tokens.get(path.get(i)));
    }

    private int drawFrom(int n) {
        double u = random.nextDouble();
        double cumulative = 0;
        for (int i = 0; i < n; i++) {
            cumulative += probs[i];
            if (u < cumulative) return ids[i];
        }
        return ids[n - 1];
    }

    /** The draft's plain softmax (temperature 1, no filters): its two best tokens and their probabilities. */
    record Confidence(int top1, float p1, int top2, float p2) {
    }

    /** The {@link Confidence} of {@code logits}; {@code scratch} (at least as long) receives the exponentials. */
    static Confidence confidence(float[] logits, float[] scratch) {
        int top1 = 0, top2 = -1;
        for (int v = 1; v < logits.length; v++) {
            if (logits[v] > logits[top1]) {
                top2 = top1;
                top1 = v;
            } else if (top2 < 0 || logits[v] > logits[top2]) {
                top2 = v;
            }
        }
        if (top2 < 0) top2 = top1;
        // The softmax denominator over the whole vocabulary, once per draft step: with Math.exp per logit it
        // was a tenth of a small draft model's step.
        float max = logits[top1];
        Exponential.expShifted(logits, logits.length, max, scratch);
        double sum = 0;
        for (int v = 0; v < logits.length; v++) sum += scratch[v];
        return new Confidence(top1, (float) (1 / sum), top2, (float) (Exponential.exp(logits[top2] - max) / sum));
    }

    @Override
    public void close() {
        thread.shutdownNow();
        pool.close();
        file.close();
    }
}
