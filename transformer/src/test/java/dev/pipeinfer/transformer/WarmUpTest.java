package dev.pipeinfer.transformer;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.transformer.kv.KvType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A warm-up runs a slice on made-up input before its first request (so that the kernels are compiled when
 * it comes) and leaves nothing behind: the cache is empty again and every later output has the bits it would
 * have had without it.
 */
class WarmUpTest {
    private static final SliceOptions OPTIONS = new SliceOptions(64, KvType.F32, GeluMode.EXACT, 8);
    private static final int[] PROMPT = {1, 403, 407, 261, 378, 500, 42};

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "synth-falcon7b-Q8_0.gguf", "synth-falcon40b-F16.gguf"})
    void aWarmedUpSliceComputesTheBitsOfAColdOneAndItsCacheIsEmptyAgain(String model) throws IOException {
        try (ComputePool pool = new ComputePool(2); GgufFile file = GgufFile.open(TestData.model(model))) {
            LayerSlice cold = LayerSlice.loadAll(file, OPTIONS, pool);
            float[] expected = cold.forward(Batch.sequence(PROMPT, 0, 0, true)).data();

            LayerSlice warm = LayerSlice.loadAll(file, OPTIONS, pool);
            assertEquals(5, warm.warmUp(60_000, () -> false), "every pass runs within a generous budget");
            assertEquals(0, warm.kvCache().usedCells());
            assertArrayEquals(expected, warm.forward(Batch.sequence(PROMPT, 0, 0, true)).data());
        }
    }

    @Test
    void aMiddleSliceWarmsUpOnMadeUpActivations() throws IOException {
        try (ComputePool pool = new ComputePool(1); GgufFile file = GgufFile.open(TestData.model("stories260K.gguf"))) {
            LayerSlice head = LayerSlice.load(file, 0, 2, OPTIONS, pool);
            LayerSlice cold = LayerSlice.load(file, 2, 4, OPTIONS, pool), warm = LayerSlice.load(file, 2, 4, OPTIONS, pool);
            Batch batch = Batch.sequence(PROMPT, 0, 0, true);
            SliceOutput activations = head.forward(batch);
            Batch middle = batch.withActivations(activations.data(), activations.width());

            assertTrue(warm.warmUp(60_000, () -> false) > 0);
            assertEquals(0, warm.kvCache().usedCells());
            assertArrayEquals(cold.forward(middle).data(), warm.forward(middle).data());
        }
    }

    @Test
    void aWarmUpEndsAtTheLayerWhereItIsToldToStop() throws IOException {
        try (ComputePool pool = new ComputePool(1); GgufFile file = GgufFile.open(TestData.model("stories260K.gguf"))) {
            LayerSlice slice = LayerSlice.load(file, 0, 5, OPTIONS, pool);
            AtomicInteger checks = new AtomicInteger();
            int passes = slice.warmUp(60_000, () -> checks.incrementAndGet() > 3); // during the first pass's fourth layer check
            assertEquals(0, passes);
            assertEquals(4, checks.get(), "checked before each layer, and no further once it said stop");
            assertEquals(0, slice.kvCache().usedCells());
        }
    }

    @Test
    void aCacheInUseIsNotWarmedUp() throws IOException {
        try (ComputePool pool = new ComputePool(1); GgufFile file = GgufFile.open(TestData.model("stories260K.gguf"))) {
            LayerSlice slice = LayerSlice.load(file, 0, 5, OPTIONS, pool);
            slice.forward(Batch.sequence(PROMPT, 0, 0, true));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> slice.warmUp(60_000, () -> false));
            assertTrue(e.getMessage().contains("cells are in use"), e.getMessage());
            assertEquals(PROMPT.length, slice.kvCache().usedCells());
        }
    }
}
