package dev.pipeinfer.transformer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One reference file of the test data (README §4): llama.cpp's {@code <prompt>.json} or the float64
 * {@code <prompt>.exact.json}, with its full-logit rows.
 */
record Reference(Path file, int[] promptTokens, int[] greedyTokens, int vocab, int[] fullPositions, float[][] fullLogits,
                 List<TopK> promptTopK, List<TopK> greedyTopK) {

    /** The ten best logits at one sequence position. */
    record TopK(int pos, int[] ids, float[] logits) {}

    static Reference read(Path json) {
        try {
            JsonNode root = new ObjectMapper().readTree(json.toFile());
            int[] prompt = ints(root.get("prompt_tokens"));
            int[] greedy = ints(root.get("greedy_tokens"));
            int[] positions = ints(root.get("prompt_logits_positions"));
            JsonNode vocabNode = root.get("n_vocab");
            float[][] full = new float[positions.length][];
            int vocab = vocabNode != null ? vocabNode.asInt() : -1;
            JsonNode file = root.get("prompt_logits_file");
            if (positions.length > 0 && file != null && !file.isNull()) {
                byte[] bytes = Files.readAllBytes(json.resolveSibling(file.asText()));
                ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
                if (vocab < 0) vocab = bytes.length / 4 / positions.length;
                if (bytes.length != 4L * vocab * positions.length) {
                    throw new IllegalStateException(file.asText() + ": " + bytes.length + " bytes, expected "
                            + positions.length + " x " + vocab + " floats");
                }
                for (int r = 0; r < positions.length; r++) {
                    full[r] = new float[vocab];
                    for (int i = 0; i < vocab; i++) full[r][i] = b.getFloat();
                }
            }
            return new Reference(json, prompt, greedy, vocab, positions, full, topK(root.get("prompt_topk")),
                    topK(root.get("greedy_topk")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<TopK> topK(JsonNode array) {
        List<TopK> list = new ArrayList<>();
        if (array == null) return list;
        for (JsonNode e : array) {
            JsonNode l = e.get("logits");
            float[] logits = new float[l.size()];
            for (int i = 0; i < logits.length; i++) logits[i] = (float) l.get(i).asDouble();
            list.add(new TopK(e.get("pos").asInt(), ints(e.get("ids")), logits));
        }
        return list;
    }

    static int[] ints(JsonNode array) {
        if (array == null || array.isNull()) return new int[0];
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
