package dev.pipeinfer.transformer.model;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.GgufMetadata;
import dev.pipeinfer.gguf.GgufTensor;

/**
 * The hyperparameters of a model, read from GGUF metadata (and the tensor table, for the facts that
 * llama.cpp also derives from it: tied embeddings, Falcon-40B's second norm, the vocabulary size).
 *
 * @param architecture     the family, which decides the block structure
 * @param layers           transformer blocks ({@code <arch>.block_count})
 * @param embd             model width ({@code <arch>.embedding_length})
 * @param ff               MLP hidden width ({@code <arch>.feed_forward_length})
 * @param heads            query heads
 * @param kvHeads          key/value heads (fewer than {@code heads} for GQA/MQA)
 * @param headDim          width of one head ({@code <arch>.attention.key_length}, else embd / heads)
 * @param ropeDims         leading dimensions of each head that RoPE rotates
 * @param ropeFreqBase     RoPE theta base (10000 when absent)
 * @param ropeFreqScale    position multiplier for linear RoPE scaling (1 / factor; 1 when unscaled)
 * @param neoxRope         true for NeoX-style RoPE (pairs i, i + dims/2), false for GPT-J style (2i, 2i+1)
 * @param normEps          epsilon of RMSNorm (llama) or LayerNorm (falcon)
 * @param vocabSize        rows of the token embedding, i.e. the width of the logits
 * @param contextLength    training context ({@code <arch>.context_length}), a default for the KV cache size
 * @param tiedEmbeddings   true when there is no {@code output.weight} and the token embedding serves as lm_head
 * @param separateAttnNorm falcon only: true when {@code attn_norm_2} exists (40B/180B style), whose LayerNorm
 *                         then feeds attention while {@code attn_norm} feeds the MLP (README §3 naming trap)
 */
public record ModelConfig(
        Architecture architecture,
        int layers,
        int embd,
        int ff,
        int heads,
        int kvHeads,
        int headDim,
        int ropeDims,
        float ropeFreqBase,
        float ropeFreqScale,
        boolean neoxRope,
        float normEps,
        int vocabSize,
        int contextLength,
        boolean tiedEmbeddings,
        boolean separateAttnNorm) {

    /** Width of the K (and V) rows of one token: kvHeads * headDim. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Query heads per key/value head; query head h reads kv head h / groupSize(). */
    public int groupSize() {
        return heads / kvHeads;
    }

    /** Reads the configuration of the model in {@code file}; refuses unknown architectures by name. */
    public static ModelConfig from(GgufFile file) {
        GgufMetadata md = file.metadata();
        String source = file.path().toString();
        Architecture arch = Architecture.byName(source, md.getString("general.architecture"));
        String p = arch.ggufName + ".";

        int layers = md.getInt(p + "block_count");
        int embd = md.getInt(p + "embedding_length");
        int ff = md.getInt(p + "feed_forward_length");
        int heads = md.getInt(p + "attention.head_count");
        int kvHeads = md.getInt(p + "attention.head_count_kv", heads);
        require(source, layers > 0 && embd > 0 && ff > 0 && heads > 0 && kvHeads > 0,
                "non-positive hyperparameter (block_count " + layers + ", embedding_length " + embd
                        + ", feed_forward_length " + ff + ", head_count " + heads + ", head_count_kv " + kvHeads + ")");
        require(source, heads % kvHeads == 0,
                "head_count " + heads + " is not a multiple of head_count_kv " + kvHeads);
        int headDim = md.getInt(p + "attention.key_length", embd / heads);
        require(source, headDim * heads == embd && md.getInt(p + "attention.value_length", headDim) == headDim,
                "head size " + headDim + " x " + heads + " heads does not equal embedding_length " + embd);

        int ropeDims = md.getInt(p + "rope.dimension_count", headDim);
        require(source, ropeDims > 0 && ropeDims <= headDim && ropeDims % 2 == 0,
                "rope.dimension_count " + ropeDims + " must be even and at most the head size " + headDim);
        float freqBase = md.getFloat(p + "rope.freq_base", 10000f);
        float freqScale = ropeFreqScale(md, p, source);
        if (file.findTensor("rope_freqs.weight").isPresent()) {
            throw new UnsupportedModelException(source
                    + ": tensor 'rope_freqs.weight' (per-dimension RoPE frequency factors, Llama 3.1 style) is not supported");
        }

        float eps = arch == Architecture.LLAMA
                ? md.getFloat(p + "attention.layer_norm_rms_epsilon")
                : md.getFloat(p + "attention.layer_norm_epsilon");

        GgufTensor embedding = file.tensor("token_embd.weight");
        require(source, embedding.dimensions() == 2 && embedding.shape()[0] == embd,
                "token_embd.weight has shape " + java.util.Arrays.toString(embedding.shape())
                        + ", expected [" + embd + ", n_vocab]");
        int vocab = Math.toIntExact(embedding.shape()[1]);
        if (md.contains(p + "vocab_size")) {
            require(source, md.getInt(p + "vocab_size") == vocab,
                    p + "vocab_size " + md.getInt(p + "vocab_size") + " disagrees with token_embd.weight rows " + vocab);
        }
        int context = md.getInt(p + "context_length", 2048);
        boolean tied = file.findTensor("output.weight").isEmpty();
        boolean separateAttnNorm = arch == Architecture.FALCON && file.findTensor("blk.0.attn_norm_2.weight").isPresent();

        return new ModelConfig(arch, layers, embd, ff, heads, kvHeads, headDim,
                arch == Architecture.FALCON ? headDim : ropeDims,
                freqBase, freqScale, arch == Architecture.FALCON, eps, vocab, context, tied, separateAttnNorm);
    }

    /**
     * Linear RoPE scaling as llama.cpp reads it: {@code rope.scaling.type = linear} with
     * {@code rope.scaling.factor}, or the legacy {@code rope.scale_linear}. Positions are multiplied by
     * 1 / factor. Other scaling types (yarn, longrope, ...) are refused.
     */
    private static float ropeFreqScale(GgufMetadata md, String p, String source) {
        String type = md.getString(p + "rope.scaling.type", "none");
        float factor;
        switch (type) {
            case "none" -> factor = md.getFloat(p + "rope.scale_linear", 1f);
            case "linear" -> factor = md.getFloat(p + "rope.scaling.factor", md.getFloat(p + "rope.scale_linear", 1f));
            default -> throw new UnsupportedModelException(source + ": " + p + "rope.scaling.type '" + type
                    + "' is not supported (only none and linear)");
        }
        if (factor == 0f) factor = 1f; // llama.cpp treats a zero factor as "not set"
        require(source, factor > 0f && Float.isFinite(factor), "RoPE scaling factor " + factor + " must be positive");
        return 1f / factor;
    }

    private static void require(String source, boolean ok, String problem) {
        if (!ok) throw new UnsupportedModelException(source + ": " + problem);
    }
}
