package dev.pipeinfer.transformer;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.tensor.Matmul;
import dev.pipeinfer.tensor.WeightMatrix;
import dev.pipeinfer.transformer.kv.KvCache;
import dev.pipeinfer.transformer.model.ModelConfig;
import jdk.incubator.vector.FloatVector;

import java.util.Arrays;
import java.util.function.BooleanSupplier;

/**
 * The blocks [first, last) of a model on one node, with their own KV cache: one pipeline stage's share of
 * the work. The first stage's slice (first == 0) also embeds token ids; the last stage's (last == n_layers) also applies
 * the output norm and lm_head.
 *
 * <p>{@link #forward} takes a {@link Batch} of n tokens (ids or activations, each with a position, a
 * sequence set and an output flag), writes their K/V into the lowest free cells, runs the blocks with all
 * n rows through each weight matrix at once, and returns activations for the next slice or logits for
 * the tokens that asked for output.
 *
 * <p><b>Batch invariance</b> (DESIGN §3): every per-token value is computed in an order that does not
 * depend on the other tokens, on the thread count or on the slicing. The matmuls are batch-invariant by
 * construction (tensor module), norms and activations are per row, and attention visits cells in
 * (position, cell) order per token. So a token's logits are bit-identical whether the prompt ran as one
 * batch, token by token, in chunks, next to other sequences, or through a chain of slices.
 *
 * <p>Not thread-safe: a stage calls {@code forward} and the KV edits from one thread, in arrival order.
 */
public abstract sealed class LayerSlice permits LlamaSlice, FalconSlice {
    protected final ModelConfig config;
    protected final int first;
    protected final int last;
    protected final KvCache kv;
    protected final ComputePool pool;
    protected final SliceOptions options;
    /** Token embedding, when this slice holds layer 0; else null. */
    private final WeightMatrix tokenEmbedding;
    /** lm_head (output.weight or the tied token embedding), when this slice holds the last layer; else null. */
    protected final WeightMatrix output;

    protected final Attention attention;

    // Scratch, sized for `capacity` tokens and grown on demand.
    protected int capacity;
    /** The residual stream, [n x embd]. */
    protected float[] x = new float[0];
    private int[] cells = new int[0];
    private float[][] scores;
    /** Per worker: K and V rows converted to floats, and vector lanes (see {@link Attention#rowScratchSize}). */
    private final float[][] kvRows;
    private float[] outputRows = new float[0];

    protected LayerSlice(ModelConfig config, int first, int last, SliceOptions options, ComputePool pool,
                         WeightMatrix tokenEmbedding, WeightMatrix output) {
        this.config = config;
        this.first = first;
        this.last = last;
        this.options = options;
        this.pool = pool;
        this.tokenEmbedding = tokenEmbedding;
        this.output = output;
        this.kv = new KvCache(options.contextSize(), last - first, config.kvHeads(), config.headDim(), options.kvType());
        this.attention = new Attention(config.heads(), config.kvHeads(), config.headDim());
        this.scores = new float[pool.threads()][0];
        this.kvRows = new float[pool.threads()][Attention.rowScratchSize(config.headDim())];
    }

    /**
     * Maps the tensors of blocks [first, last) of the model in {@code file} (plus the embedding and the
     * output head when the slice holds the first or last layer) and builds the slice. Tensors of other
     * layers are not touched, so their pages are never read.
     */
    public static LayerSlice load(GgufFile file, int first, int last, SliceOptions options, ComputePool pool) {
        ModelConfig config = ModelConfig.from(file);
        return load(file, first, last, first == 0, last == config.layers(), options, pool);
    }

    /**
     * As {@link #load(GgufFile, int, int, SliceOptions, ComputePool)}, with the slice's roles given: only the
     * pipeline's first stage embeds and only its last applies the output head, which matters when stages
     * hold no layers at all (more stages than layers) and "first == 0" no longer tells one stage.
     */
    public static LayerSlice load(GgufFile file, int first, int last, boolean embeds, boolean outputs,
                                  SliceOptions options, ComputePool pool) {
        ModelConfig config = ModelConfig.from(file);
        // An empty slice is allowed: with more stages than layers, a stage may only embed, only pass
        // activations on, or only apply the output head.
        if (first < 0 || last > config.layers() || first > last) {
            throw new IllegalArgumentException(file.path() + ": layer slice [" + first + ", " + last
                    + ") is not a part of the model's " + config.layers() + " layers");
        }
        if (embeds && first != 0 || outputs && last != config.layers()) {
            throw new IllegalArgumentException(file.path() + ": layer slice [" + first + ", " + last + ") cannot "
                    + (embeds && first != 0 ? "embed tokens: it does not start at layer 0" : "apply the output head: it does not end at the last layer"));
        }
        return switch (config.architecture()) {
            case LLAMA -> LlamaSlice.load(file, config, first, last, embeds, outputs, options, pool);
            case FALCON -> FalconSlice.load(file, config, first, last, embeds, outputs, options, pool);
        };
    }

    /** The whole model on one node: {@code load(file, 0, n_layers, ...)}. */
    public static LayerSlice loadAll(GgufFile file, SliceOptions options, ComputePool pool) {
        return load(file, 0, ModelConfig.from(file).layers(), options, pool);
    }

    public ModelConfig config() {
        return config;
    }

    public int firstLayer() {
        return first;
    }

    /** One past the slice's last layer. */
    public int lastLayer() {
        return last;
    }

    public boolean hasEmbedding() {
        return tokenEmbedding != null;
    }

    public boolean hasOutput() {
        return output != null;
    }

    /** This slice's KV cache: apply a run's sequence edits here (copy/remove/keep). */
    public KvCache kvCache() {
        return kv;
    }

    /**
     * Runs the slice on made-up input so that the JIT has compiled its kernels (and the first pass has paged in
     * the slice's weights) before the first request: a cold 1.1B slice otherwise spends about 2 s of its first
     * prompt running the kernels as the Vector API's Java fallback, and the nodes of a pipeline would each pay
     * that in turn. A batch of up to 8 tokens, then single tokens and one more batch while less than
     * {@code budgetMillis} has passed, in sequence 0 of an empty cache, which is empty again afterwards; the
     * outputs are discarded.
     *
     * @param stop checked before every layer: once true, the warm-up ends there
     * @return the passes completed
     * @throws IllegalStateException if the KV cache is in use
     */
    public int warmUp(long budgetMillis, BooleanSupplier stop) {
        if (kv.usedCells() > 0) {
            throw new IllegalStateException("warm-up needs an empty KV cache, " + kv.usedCells() + " cells are in use");
        }
        int batch = Math.min(8, (kv.capacity() - 3) / 2);
        long start = System.nanoTime();
        int position = 0, passes = 0;
        try {
            for (int size : new int[] {batch, 1, 1, batch, 1}) {
                if (size < 1 || (passes > 0 && (System.nanoTime() - start) / 1_000_000 >= budgetMillis)) break;
                forward(warmUpBatch(size, position), stop);
                position += size;
                passes++;
            }
        } catch (ForwardCancelledException e) {
            // stopped: real work has arrived
        } finally {
            kv.clear();
        }
        return passes;
    }

    /** n made-up tokens of sequence 0 from {@code firstPosition}, the last asking for output; activations for a slice without the embedding. */
    private Batch warmUpBatch(int n, int firstPosition) {
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) tokens[i] = (firstPosition + i) % config.vocabSize();
        Batch batch = Batch.sequence(tokens, firstPosition, 0, false);
        if (hasEmbedding()) return batch;
        float[] activations = new float[n * config.embd()];
        for (int i = 0; i < activations.length; i++) activations[i] = ((i * 31 + firstPosition) % 17 - 8) / 64f;
        return batch.withActivations(activations, config.embd());
    }

    /** {@link #forward(Batch, BooleanSupplier)} that is never cancelled. */
    public SliceOutput forward(Batch batch) {
        return forward(batch, () -> false);
    }

    /**
     * Runs the batch through the slice.
     *
     * @param cancelled checked before every layer (and before the output head); when it returns true the
     *                  pass stops with {@link ForwardCancelledException} and the batch's KV cells are freed
     * @return activations [n x embd] if the slice does not hold the output head, else logits
     *         [outputs x n_vocab] for the tokens that asked for output, in batch order
     * @throws dev.pipeinfer.transformer.kv.KvCacheFullException when the cache has too few free cells (nothing changes)
     */
    public SliceOutput forward(Batch batch, BooleanSupplier cancelled) {
        checkInput(batch);
        int n = batch.size();
        ensureCapacity(n);
        kv.allocate(n, batch.positionsArray(), batch.sequencesArray(), cells);
        try {
            attention.plan(kv, batch);
            ensureScores(attention.scoreSpace());
            if (batch.hasTokens()) {
                for (int t = 0; t < n; t++) embed(batch.token(t), x, t * config.embd());
            } else {
                System.arraycopy(batch.activations(), 0, x, 0, n * config.embd());
            }
            for (int layer = first; layer < last; layer++) {
                if (cancelled.getAsBoolean()) throw new ForwardCancelledException(layer);
                block(layer - first, batch, cells);
            }
            if (!hasOutput()) return new SliceOutput(false, n, config.embd(), Arrays.copyOf(x, n * config.embd()));
            if (cancelled.getAsBoolean()) throw new ForwardCancelledException(last);
            return logits(batch);
        } catch (RuntimeException | Error e) {
            kv.free(cells, n);
            throw e;
        }
    }

    private void checkInput(Batch batch) {
        if (batch.hasTokens() != hasEmbedding()) {
            throw new IllegalArgumentException("slice [" + first + ", " + last + ") takes "
                    + (hasEmbedding() ? "token ids" : "activations") + " but the batch carries "
                    + (batch.hasTokens() ? "token ids" : "activations"));
        }
        if (!batch.hasTokens() && batch.activationWidth() != config.embd()) {
            throw new IllegalArgumentException("activation rows have width " + batch.activationWidth()
                    + ", the model's embedding width is " + config.embd());
        }
        if (batch.hasTokens()) {
            for (int t = 0; t < batch.size(); t++) {
                int id = batch.token(t);
                if (id < 0 || id >= config.vocabSize()) {
                    throw new IllegalArgumentException("token " + t + " of the batch: id " + id
                            + " outside the vocabulary of " + config.vocabSize());
                }
            }
        }
    }

    /** {@code y = x W^T} for n rows of x, with this slice's pool and activation mode. */
    protected final void matmul(WeightMatrix w, float[] x, int n, float[] y) {
        Matmul.matmul(w, x, 0, n, y, 0, pool, options.activations());
    }

    /** get_rows: the token's embedding row, dequantized exactly. */
    private void embed(int token, float[] dst, int offset) {
        Matmul.getRow(tokenEmbedding, token, dst, offset);
    }

    /** Gathers the rows that asked for output, applies the final norm, then lm_head. */
    private SliceOutput logits(Batch batch) {
        int embd = config.embd(), vocab = config.vocabSize();
        int rows = batch.outputCount();
        if (outputRows.length < rows * embd) outputRows = new float[rows * embd];
        int r = 0;
        for (int t = 0; t < batch.size(); t++) {
            if (batch.wantsOutput(t)) System.arraycopy(x, t * embd, outputRows, (r++) * embd, embd);
        }
        float[] logits = new float[rows * vocab];
        if (rows == 0) return new SliceOutput(true, 0, vocab, logits);
        finalNorm(outputRows, rows);
        matmul(output, outputRows, rows, logits);
        return new SliceOutput(true, rows, vocab, logits);
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) return;
        int size = Math.max(n, Math.max(options.initialBatch(), capacity * 2));
        capacity = size;
        x = new float[size * config.embd()];
        cells = new int[size];
        growScratch(size);
    }

    /**
     * Score rows with one vector of room past the longest plan: softmax's masked last vector then stays inside
     * the array, where C2 compiles it as one masked access (past the end, lane by lane).
     */
    private void ensureScores(int longest) {
        int size = Math.max(longest, 64) + SCORE_SLACK;
        for (int w = 0; w < scores.length; w++) if (scores[w].length < size) scores[w] = new float[size];
    }

    private static final int SCORE_SLACK = FloatVector.SPECIES_MAX.length();

    /** Attention for slice layer {@code layer}: q rows are rotated, K/V already written. */
    protected final void attend(int layer, float[] q, float[] out) {
        attention.attend(kv, layer, q, out, pool, scores, kvRows);
    }

    /** Writes the batch's K and V rows (row t at kOffset + t*kStride) into their cells for slice layer {@code layer}. */
    protected final void storeKeysValues(int layer, int n, int[] cells, float[] k, int kOffset, float[] v, int vOffset,
                                         int stride) {
        for (int t = 0; t < n; t++) kv.write(layer, cells[t], k, kOffset + t * stride, v, vOffset + t * stride);
    }

    /** Resizes the architecture's scratch buffers for {@code tokens} rows. */
    protected abstract void growScratch(int tokens);

    /** Runs one block on the residual stream {@link #x} for the batch's n tokens. */
    protected abstract void block(int sliceLayer, Batch batch, int[] cells);

    /** The output norm, in place on {@code rows} rows of width embd. */
    protected abstract void finalNorm(float[] rowsData, int rows);

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[layers " + first + ".." + last + " of " + config.layers() + ", " + kv + "]";
    }
}
