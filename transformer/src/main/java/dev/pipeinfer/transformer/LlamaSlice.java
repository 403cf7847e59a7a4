package dev.pipeinfer.transformer;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.tensor.Activations;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.tensor.Elementwise;
import dev.pipeinfer.tensor.Matmul;
import dev.pipeinfer.tensor.Norms;
import dev.pipeinfer.tensor.Rope;
import dev.pipeinfer.tensor.WeightMatrix;
import dev.pipeinfer.transformer.model.ModelConfig;

import java.util.Set;

/**
 * Llama blocks (Llama 1/2/3, Mistral, TinyLlama, Llama-2 merges), as llama.cpp computes them:
 * <pre>
 *   h = rmsnorm(x) * attn_norm
 *   q, k, v = Wq h, Wk h, Wv h;  rope(q), rope(k)  (GPT-J style pairs 2i, 2i+1)
 *   x = x + Wo attention(q, K, V)
 *   h = rmsnorm(x) * ffn_norm
 *   x = x + W_down( silu(W_gate h) * W_up h )
 * </pre>
 * and at the end {@code logits = output . (rmsnorm(x) * output_norm)}.
 */
public final class LlamaSlice extends LayerSlice {

    /** One block's weights: matrices stay in the file's mapping; the norm vectors are small float copies. */
    record Layer(float[] attnNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                 float[] ffnNorm, WeightMatrix gate, WeightMatrix up, WeightMatrix down) {}

    private final Layer[] layers;
    private final float[] outputNorm;

    // Scratch rows for n tokens.
    private float[] h = new float[0];      // [n x embd] normed input of a sub-block
    private float[] q = new float[0];      // [n x embd]
    private float[] k = new float[0];      // [n x kvDim]
    private float[] v = new float[0];      // [n x kvDim]
    private float[] att = new float[0];    // [n x embd] attention output before Wo
    private float[] proj = new float[0];   // [n x embd] a sub-block's output before the residual add
    private float[] gate = new float[0];   // [n x ff]
    private float[] up = new float[0];     // [n x ff]

    /**
     * SwiGLU over the compute pool, each thread a slice of the values: on the calling thread alone it took
     * about 3 % of a 2-thread prompt (the pool idle meanwhile), as much as everything else between the matmuls.
     * Each value is {@link Activations#silu} of its gate times its up, whoever computes it, so the same bits.
     */
    private final ComputePool.RangeJob swiglu = (worker, from, to) -> Activations.swiglu(gate, from, up, from, gate, from, to - from);
    /** Values per slice unit of {@link #swiglu}: a thread takes whole multiples of it. */
    private static final int SWIGLU_GRAIN = 256;

    private LlamaSlice(ModelConfig config, int first, int last, SliceOptions options, ComputePool pool,
                       WeightMatrix embedding, WeightMatrix output, Layer[] layers, float[] outputNorm) {
        super(config, first, last, options, pool, embedding, output);
        this.layers = layers;
        this.outputNorm = outputNorm;
    }

    static LlamaSlice load(GgufFile file, ModelConfig c, int first, int last, boolean embeds, boolean head,
                          SliceOptions options, ComputePool pool) {
        SliceTensors t = new SliceTensors(file, c);
        t.requireOnly(first, last, Set.of("attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight",
                "attn_output.weight", "ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"));
        Layer[] layers = new Layer[last - first];
        for (int l = first; l < last; l++) {
            String p = "blk." + l + ".";
            layers[l - first] = new Layer(
                    t.vector(p + "attn_norm.weight", c.embd()),
                    t.matrix(p + "attn_q.weight", c.embd(), c.embd()),
                    t.matrix(p + "attn_k.weight", c.kvDim(), c.embd()),
                    t.matrix(p + "attn_v.weight", c.kvDim(), c.embd()),
                    t.matrix(p + "attn_output.weight", c.embd(), c.embd()),
                    t.vector(p + "ffn_norm.weight", c.embd()),
                    t.matrix(p + "ffn_gate.weight", c.ff(), c.embd()),
                    t.matrix(p + "ffn_up.weight", c.ff(), c.embd()),
                    t.matrix(p + "ffn_down.weight", c.embd(), c.ff()));
        }
        return new LlamaSlice(c, first, last, options, pool,
                embeds ? t.embedding() : null,
                head ? t.output() : null,
                layers,
                head ? t.vector("output_norm.weight", c.embd()) : null);
    }

    @Override
    protected void growScratch(int n) {
        int embd = config.embd(), kvDim = config.kvDim(), ff = config.ff();
        h = new float[n * embd];
        q = new float[n * embd];
        k = new float[n * kvDim];
        v = new float[n * kvDim];
        att = new float[n * embd];
        proj = new float[n * embd];
        gate = new float[n * ff];
        up = new float[n * ff];
    }

    @Override
    protected void block(int sliceLayer, Batch batch, int[] cells) {
        Layer w = layers[sliceLayer];
        int n = batch.size(), embd = config.embd(), kvDim = config.kvDim();

        // Attention.
        for (int t = 0; t < n; t++) Norms.rmsNorm(x, t * embd, w.attnNorm(), 0, h, t * embd, embd, config.normEps());
        matmul(w.wq(), h, n, q);
        matmul(w.wk(), h, n, k);
        matmul(w.wv(), h, n, v);
        for (int t = 0; t < n; t++) {
            int pos = batch.position(t);
            Rope.normal(q, t * embd, config.heads(), config.headDim(), config.ropeDims(), pos, config.ropeFreqBase(), config.ropeFreqScale());
            Rope.normal(k, t * kvDim, config.kvHeads(), config.headDim(), config.ropeDims(), pos, config.ropeFreqBase(), config.ropeFreqScale());
        }
        storeKeysValues(sliceLayer, n, cells, k, 0, v, 0, kvDim);
        attend(sliceLayer, q, att);
        matmul(w.wo(), att, n, proj);
        Elementwise.add(x, 0, proj, 0, x, 0, n * embd);

        // Feed-forward.
        for (int t = 0; t < n; t++) Norms.rmsNorm(x, t * embd, w.ffnNorm(), 0, h, t * embd, embd, config.normEps());
        matmul(w.gate(), h, n, gate);
        matmul(w.up(), h, n, up);
        pool.run(n * config.ff(), SWIGLU_GRAIN, swiglu);
        matmul(w.down(), gate, n, proj);
        Elementwise.add(x, 0, proj, 0, x, 0, n * embd);
    }

    @Override
    protected void finalNorm(float[] rows, int n) {
        int embd = config.embd();
        for (int t = 0; t < n; t++) Norms.rmsNorm(rows, t * embd, outputNorm, 0, rows, t * embd, embd, config.normEps());
    }
}
