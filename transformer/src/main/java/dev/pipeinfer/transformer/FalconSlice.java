package dev.pipeinfer.transformer;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.tensor.Activations;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.tensor.Matmul;
import dev.pipeinfer.tensor.Norms;
import dev.pipeinfer.tensor.Rope;
import dev.pipeinfer.tensor.WeightMatrix;
import dev.pipeinfer.transformer.model.ModelConfig;

import java.util.Set;

/**
 * Falcon blocks (7B, 40B, 180B), as llama.cpp computes them, with attention and MLP in parallel:
 * <pre>
 *   a    = layernorm(x; attn_norm)                    the MLP input
 *   in   = layernorm(x; attn_norm_2) if it exists     the attention input (40B/180B), else a (7B)
 *   q|k|v = W_qkv in;  rope_neox(q), rope_neox(k)     (pairs i, i + head_dim/2)
 *   x    = (W_down gelu(W_up a) + W_o attention(q, K, V)) + x
 * </pre>
 * and at the end {@code logits = output . layernorm(x; output_norm)}.
 *
 * <p>Naming trap (README §3): when {@code attn_norm_2} exists, llama.cpp's converter has put HF's
 * {@code ln_attn} there and {@code ln_mlp} in {@code attn_norm}, so attn_norm feeds the MLP.
 */
public final class FalconSlice extends LayerSlice {

    /** One block's weights; {@code attnNorm2*} are null in the 7B style. */
    record Layer(float[] attnNorm, float[] attnNormBias, float[] attnNorm2, float[] attnNorm2Bias,
                 WeightMatrix qkv, WeightMatrix wo, WeightMatrix up, WeightMatrix down) {}

    private final Layer[] layers;
    private final float[] outputNorm;
    private final float[] outputNormBias;
    private final int qkvWidth;

    private float[] a = new float[0];      // [n x embd] MLP input (and attention input, 7B style)
    private float[] h = new float[0];      // [n x embd] attention input, 40B style
    private float[] qkv = new float[0];    // [n x (embd + 2 kvDim)]
    private float[] q = new float[0];      // [n x embd] rotated queries
    private float[] att = new float[0];    // [n x embd]
    private float[] attnOut = new float[0];// [n x embd]
    private float[] ffnOut = new float[0]; // [n x embd]
    private float[] up = new float[0];     // [n x ff]

    /** GELU over the compute pool, each thread a slice of the values (as Llama's SwiGLU: the same bits). */
    private final ComputePool.RangeJob gelu = (worker, from, to) -> {
        if (options.gelu() == GeluMode.EXACT) Activations.gelu(up, from, up, from, to - from);
        else Activations.geluFp16Table(up, from, up, from, to - from);
    };
    private static final int GELU_GRAIN = 256;

    private FalconSlice(ModelConfig config, int first, int last, SliceOptions options, ComputePool pool,
                        WeightMatrix embedding, WeightMatrix output, Layer[] layers, float[] outputNorm,
                        float[] outputNormBias) {
        super(config, first, last, options, pool, embedding, output);
        this.layers = layers;
        this.outputNorm = outputNorm;
        this.outputNormBias = outputNormBias;
        this.qkvWidth = config.embd() + 2 * config.kvDim();
    }

    static FalconSlice load(GgufFile file, ModelConfig c, int first, int last, boolean embeds, boolean head,
                          SliceOptions options, ComputePool pool) {
        SliceTensors t = new SliceTensors(file, c);
        t.requireOnly(first, last, Set.of("attn_norm.weight", "attn_norm.bias", "attn_norm_2.weight", "attn_norm_2.bias",
                "attn_qkv.weight", "attn_output.weight", "ffn_up.weight", "ffn_down.weight"));
        Layer[] layers = new Layer[last - first];
        for (int l = first; l < last; l++) {
            String p = "blk." + l + ".";
            boolean separate = c.separateAttnNorm();
            layers[l - first] = new Layer(
                    t.vector(p + "attn_norm.weight", c.embd()),
                    t.vector(p + "attn_norm.bias", c.embd()),
                    separate ? t.vector(p + "attn_norm_2.weight", c.embd()) : null,
                    separate ? t.vector(p + "attn_norm_2.bias", c.embd()) : null,
                    t.matrix(p + "attn_qkv.weight", c.embd() + 2 * c.kvDim(), c.embd()),
                    t.matrix(p + "attn_output.weight", c.embd(), c.embd()),
                    t.matrix(p + "ffn_up.weight", c.ff(), c.embd()),
                    t.matrix(p + "ffn_down.weight", c.embd(), c.ff()));
        }
        return new FalconSlice(c, first, last, options, pool,
                embeds ? t.embedding() : null,
                head ? t.output() : null,
                layers,
                head ? t.vector("output_norm.weight", c.embd()) : null,
                head ? t.vector("output_norm.bias", c.embd()) : null);
    }

    @Override
    protected void growScratch(int n) {
        int embd = config.embd();
        a = new float[n * embd];
        h = new float[n * embd];
        qkv = new float[n * (embd + 2 * config.kvDim())];
        q = new float[n * embd];
        att = new float[n * embd];
        attnOut = new float[n * embd];
        ffnOut = new float[n * embd];
        up = new float[n * config.ff()];
    }

    @Override
    protected void block(int sliceLayer, Batch batch, int[] cells) {
        Layer w = layers[sliceLayer];
        int n = batch.size(), embd = config.embd(), kvDim = config.kvDim();
        float eps = config.normEps();

        for (int t = 0; t < n; t++) Norms.layerNorm(x, t * embd, w.attnNorm(), 0, w.attnNormBias(), 0, a, t * embd, embd, eps);
        float[] attnIn = a;
        if (w.attnNorm2() != null) {
            for (int t = 0; t < n; t++) Norms.layerNorm(x, t * embd, w.attnNorm2(), 0, w.attnNorm2Bias(), 0, h, t * embd, embd, eps);
            attnIn = h;
        }

        // Attention: one fused projection, rows laid out [Q | K | V].
        matmul(w.qkv(), attnIn, n, qkv);
        for (int t = 0; t < n; t++) {
            int row = t * qkvWidth, pos = batch.position(t);
            Rope.neox(qkv, row, config.heads(), config.headDim(), config.ropeDims(), pos, config.ropeFreqBase(), config.ropeFreqScale());
            Rope.neox(qkv, row + embd, config.kvHeads(), config.headDim(), config.ropeDims(), pos, config.ropeFreqBase(), config.ropeFreqScale());
            System.arraycopy(qkv, row, q, t * embd, embd);
        }
        storeKeysValues(sliceLayer, n, cells, qkv, embd, qkv, embd + kvDim, qkvWidth);
        attend(sliceLayer, q, att);
        matmul(w.wo(), att, n, attnOut);

        // MLP, in parallel with attention: it reads `a`, not the attention's result.
        matmul(w.up(), a, n, up);
        pool.run(n * config.ff(), GELU_GRAIN, gelu);
        matmul(w.down(), up, n, ffnOut);

        // llama.cpp's order of the two additions: (ffn + attn) + x.
        for (int i = 0; i < n * embd; i++) x[i] = (ffnOut[i] + attnOut[i]) + x[i];
    }

    @Override
    protected void finalNorm(float[] rows, int n) {
        int embd = config.embd();
        for (int t = 0; t < n; t++) {
            Norms.layerNorm(rows, t * embd, outputNorm, 0, outputNormBias, 0, rows, t * embd, embd, config.normEps());
        }
    }
}
