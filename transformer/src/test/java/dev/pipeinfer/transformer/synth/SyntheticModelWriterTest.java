package dev.pipeinfer.transformer.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pipeinfer.gguf.GgmlType;
import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.GgufTensor;
import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.tensor.TensorFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A synthesised model has the layout llama.cpp's own converters write, and is a pure function of its seed. */
class SyntheticModelWriterTest {
    private static final ModelShape TINY_LLAMA = new ModelShape("synth-llama", "llama", 256, 768, 4, 8, 4, 256, 1e-5f);
    private static final ModelShape TINY_FALCON = new ModelShape("tiny-falcon", "falcon", 288, 1024, 2, 9, 1, 256, 1e-5f);

    @TempDir
    Path dir;

    @Test
    void llamaModelHasTheKeysAndTensorsOfALlamaCppFile() throws Exception {
        Path out = write(TINY_LLAMA, GgmlType.Q4_K, "stories260K.gguf", 7, "a.gguf");
        try (GgufFile made = GgufFile.open(out);
             GgufFile reference = GgufFile.open(TestData.model("synth-llama-Q4_K_M.gguf"));
             GgufFile vocab = GgufFile.open(TestData.model("stories260K.gguf"))) {
            assertEquals(keys(reference, false), keys(made, false), "model keys as llama.cpp's gguf-py writes them");
            assertEquals(keys(vocab, true), keys(made, true), "the tokenizer keys of the vocabulary file");
            assertEquals(names(reference), names(made), "tensor names");
            for (GgufTensor t : made.tensors()) {
                GgmlType expected = t.dimensions() == 1 ? GgmlType.F32 : GgmlType.Q4_K;
                assertEquals(expected, t.type(), t.name());
                assertArrayEquals(reference.tensor(t.name()).shape(), t.shape(), t.name());
            }
            assertEquals(15, made.metadata().getInt("general.file_type"));
        }
    }

    @Test
    void falconRowsThatNoSuperBlockDividesFallBackLikeLlamaCpp() throws Exception {
        // 288 is a multiple of 32 but not of 256: Q4_K rows of 288 are stored as Q5_0, as llama-quantize does.
        Path out = write(TINY_FALCON, GgmlType.Q4_K, "synth-falcon7b-Q8_0.gguf", 7, "f.gguf");
        try (GgufFile made = GgufFile.open(out)) {
            assertEquals(GgmlType.Q5_0, made.tensor("blk.0.attn_qkv.weight").type());
            assertArrayEquals(new long[] {288, 288 + 2 * 32}, made.tensor("blk.0.attn_qkv.weight").shape());
            assertEquals(GgmlType.Q4_K, made.tensor("blk.0.ffn_down.weight").type(), "rows of 1024 are whole super-blocks");
            assertEquals(GgmlType.Q5_0, made.tensor("blk.0.ffn_up.weight").type());
        }
    }

    @Test
    void sameSeedSameBytesAndTheWeightsHaveTheirScale() throws Exception {
        Path a = write(TINY_LLAMA, GgmlType.Q8_0, "stories260K.gguf", 42, "a.gguf");
        Path b = write(TINY_LLAMA, GgmlType.Q8_0, "stories260K.gguf", 42, "b.gguf");
        Path c = write(TINY_LLAMA, GgmlType.Q8_0, "stories260K.gguf", 43, "c.gguf");
        assertEquals(-1, Files.mismatch(a, b));
        assertTrue(Files.mismatch(a, c) >= 0);
        try (GgufFile f = GgufFile.open(a)) {
            GgufTensor q = f.tensor("blk.1.attn_q.weight");
            float[] row = new float[256];
            double sumSq = 0;
            for (int r = 0; r < 256; r++) {
                TensorFormat.of(q.type()).dequantizeRow(q.data(), r * q.rowBytes(), row, 0, 256);
                for (float v : row) sumSq += v * v;
            }
            double std = Math.sqrt(sumSq / (256 * 256));
            assertEquals(1 / 16.0, std, 0.002, "projection weights have std 1/sqrt(n_embd)");
        }
    }

    private Path write(ModelShape shape, GgmlType type, String vocabModel, long seed, String name) throws Exception {
        Path out = dir.resolve(name);
        try (GgufFile vocab = GgufFile.open(TestData.model(vocabModel))) {
            List<String> progress = new ArrayList<>();
            new SyntheticModelWriter(shape, type, vocab.metadata(), seed, progress::add).write(out);
            assertTrue(progress.size() > 5);
        }
        return out;
    }

    private static Set<String> keys(GgufFile f, boolean tokenizer) {
        Set<String> s = new TreeSet<>();
        for (String k : f.metadata().keys()) if (k.startsWith("tokenizer.") == tokenizer) s.add(k);
        return s;
    }

    private static Set<String> names(GgufFile f) {
        Set<String> s = new TreeSet<>();
        for (GgufTensor t : f.tensors()) s.add(t.name());
        return s;
    }
}
