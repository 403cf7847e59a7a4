package dev.pipeinfer.transformer;

import dev.pipeinfer.gguf.GgmlType;
import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.GgufTensor;
import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.transformer.kv.KvType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A slice computes with its own layers' tensors only (DESIGN §3, "weights are never copied"; a stage maps
 * the whole file but touches only its slice). Shown by poisoning every other tensor with NaN: a slice that
 * read any of them would produce NaN.
 */
class SliceIsolationTest {
    @TempDir
    Path dir;

    @Test
    void aTailSliceNeverReadsTheEmbeddingOrEarlierLayers() throws IOException {
        Path original = TestData.model("stories260K.gguf");
        Path poisoned = Files.copy(original, dir.resolve("poisoned.gguf"));
        try (GgufFile f = GgufFile.open(original); RandomAccessFile raf = new RandomAccessFile(poisoned.toFile(), "rw")) {
            for (GgufTensor t : f.tensors()) {
                if (!(t.name().startsWith("blk.0.") || t.name().startsWith("blk.1.") || t.name().equals("token_embd.weight"))) continue;
                assertEquals(GgmlType.F32, t.type());
                byte[] nan = new byte[(int) t.byteSize()];
                for (int i = 0; i < nan.length; i += 4) { nan[i + 2] = (byte) 0xC0; nan[i + 3] = 0x7F; } // 0x7FC00000 LE
                raf.seek(f.dataOffset() + t.offset());
                raf.write(nan);
            }
        }
        int[] prompt = {1, 403, 407, 261, 378};
        SliceOptions options = new SliceOptions(32, KvType.F32, GeluMode.EXACT, 8);
        try (ComputePool pool = new ComputePool(1);
             GgufFile clean = GgufFile.open(original); GgufFile bad = GgufFile.open(poisoned)) {
            float[] expected = LayerSlice.loadAll(clean, options, pool).forward(Batch.sequence(prompt, 0, 0, true)).data();

            LayerSlice head = LayerSlice.load(clean, 0, 2, options, pool);
            LayerSlice tail = LayerSlice.load(bad, 2, 5, options, pool);
            Batch batch = Batch.sequence(prompt, 0, 0, true);
            SliceOutput activations = head.forward(batch);
            float[] logits = tail.forward(batch.withActivations(activations.data(), activations.width())).data();
            assertArrayEquals(expected, logits);

            float[] poisonedFull = LayerSlice.loadAll(bad, options, pool).forward(Batch.sequence(prompt, 0, 0, true)).data();
            assertTrue(Float.isNaN(poisonedFull[0]), "the poison is visible to a slice that does read those tensors");
        }
    }
}
