package dev.pipeinfer.transformer;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.transformer.kv.KvCacheFullException;
import dev.pipeinfer.transformer.kv.KvType;
import dev.pipeinfer.transformer.kv.SequenceSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * DESIGN §3: a token's logits do not depend on how the work was batched, on the thread count, on the
 * other sequences in the batch, or on how the layers are sliced. "Equal" here means bit-identical.
 * Runs on the real Llama (stories260K, GQA) and on a Falcon-40B style model (second norm, GQA).
 */
class ForwardInvarianceTest {
    private static final String[] MODELS = {"stories260K.gguf", "synth-falcon40b-F16.gguf"};
    private static final int[] PROMPT = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315};
    private static ComputePool pool;
    private static final List<GgufFile> files = new ArrayList<>();

    @BeforeAll
    static void start() {
        pool = new ComputePool(1);
    }

    @AfterAll
    static void stop() {
        files.forEach(GgufFile::close);
        pool.close();
    }

    private static GgufFile open(String model) throws IOException {
        GgufFile f = GgufFile.open(TestData.model(model));
        files.add(f);
        return f;
    }

    private static SliceOptions options() {
        return new SliceOptions(64, KvType.F32, GeluMode.GGML_FP16_TABLE, 4);
    }

    private static LayerSlice fresh(GgufFile file) {
        return LayerSlice.loadAll(file, options(), pool);
    }

    /** Rows of logits of a run of {@code tokens} at positions from {@code start} in sequence 0, every row. */
    private static float[][] run(LayerSlice slice, int[] tokens, int start) {
        return rows(slice.forward(Batch.sequence(tokens, start, 0, true)));
    }

    private static float[][] rows(SliceOutput out) {
        float[][] r = new float[out.rows()][];
        for (int i = 0; i < r.length; i++) r[i] = out.row(i);
        return r;
    }

    private static int[] slice(int[] a, int from, int to) {
        return Arrays.copyOfRange(a, from, to);
    }

    private static int[] concat(int[] a, int... b) {
        int[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "synth-falcon40b-F16.gguf"})
    void oneBatchTokenByTokenAndChunksGiveIdenticalLogits(String model) throws IOException {
        GgufFile file = open(model);
        float[][] whole = run(fresh(file), PROMPT, 0);

        LayerSlice oneByOne = fresh(file);
        for (int t = 0; t < PROMPT.length; t++) {
            assertArrayEquals(whole[t], run(oneByOne, new int[]{PROMPT[t]}, t)[0], "token " + t + " alone");
        }

        LayerSlice chunks = fresh(file);
        int[] bounds = {0, 5, 9, 12};
        for (int c = 0; c + 1 < bounds.length; c++) {
            float[][] part = run(chunks, slice(PROMPT, bounds[c], bounds[c + 1]), bounds[c]);
            for (int i = 0; i < part.length; i++) assertArrayEquals(whole[bounds[c] + i], part[i], "chunk " + c + " row " + i);
        }
    }

    @Test
    void anF16CacheIsAsBatchInvariantAsAnF32One() throws IOException {
        GgufFile file = open(MODELS[0]);
        SliceOptions f16 = options().withKvType(KvType.F16);
        float[][] whole = run(LayerSlice.loadAll(file, f16, pool), PROMPT, 0);
        LayerSlice oneByOne = LayerSlice.loadAll(file, f16, pool);
        for (int t = 0; t < PROMPT.length; t++) {
            assertArrayEquals(whole[t], run(oneByOne, new int[]{PROMPT[t]}, t)[0], "token " + t + " alone");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "synth-falcon40b-F16.gguf"})
    void theThreadCountDoesNotChangeAnyBit(String model) throws IOException {
        GgufFile file = open(model);
        float[][] oneThread = run(fresh(file), PROMPT, 0);
        try (ComputePool two = new ComputePool(2)) {
            LayerSlice s = LayerSlice.loadAll(file, options(), two);
            float[][] twoThreads = rows(s.forward(Batch.sequence(slice(PROMPT, 0, 10), 0, 0, true)));
            twoThreads = Arrays.copyOf(twoThreads, PROMPT.length);
            twoThreads[10] = rows(s.forward(Batch.sequence(slice(PROMPT, 10, 11), 10, 0, true)))[0];
            twoThreads[11] = rows(s.forward(Batch.sequence(slice(PROMPT, 11, 12), 11, 0, true)))[0];
            for (int t = 0; t < PROMPT.length; t++) assertArrayEquals(twoThreads[t], oneThread[t], "token " + t);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "synth-falcon40b-F16.gguf"})
    void twoSequencesInOneBatchMatchSeparateRuns(String model) throws IOException {
        GgufFile file = open(model);
        int[] a = slice(PROMPT, 0, 6), b = slice(PROMPT, 6, 12);
        float[][] aAlone = run(fresh(file), a, 0), bAlone = run(fresh(file), b, 0);

        // Interleaved: a0 b0 a1 b1 ..., both at positions 0..5, a in sequence 3, b in sequence 5.
        int n = a.length + b.length;
        int[] tokens = new int[n], positions = new int[n];
        long[] seqs = new long[n];
        boolean[] outputs = new boolean[n];
        for (int i = 0; i < a.length; i++) {
            tokens[2 * i] = a[i];
            tokens[2 * i + 1] = b[i];
            positions[2 * i] = positions[2 * i + 1] = i;
            seqs[2 * i] = SequenceSet.of(3);
            seqs[2 * i + 1] = SequenceSet.of(5);
        }
        Arrays.fill(outputs, true);
        float[][] both = rows(fresh(file).forward(Batch.ofTokens(tokens, positions, seqs, outputs)));
        for (int i = 0; i < a.length; i++) {
            assertArrayEquals(aAlone[i], both[2 * i], "sequence a, token " + i);
            assertArrayEquals(bAlone[i], both[2 * i + 1], "sequence b, token " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "synth-falcon40b-F16.gguf"})
    void aTwoBranchTreeMatchesEachBranchRunAlone(String model) throws IOException {
        GgufFile file = open(model);
        int[] prefix = slice(PROMPT, 0, 4);
        int x = PROMPT[4], y = PROMPT[7];
        float[][] withX = run(fresh(file), concat(prefix, x), 0);
        float[][] withY = run(fresh(file), concat(prefix, y), 0);

        // Shared prefix carries both branch ids; then one token per branch at the same position.
        int[] tokens = concat(prefix, x, y);
        int[] positions = {0, 1, 2, 3, 4, 4};
        long both = SequenceSet.of(1, 2);
        long[] seqs = {both, both, both, both, SequenceSet.of(1), SequenceSet.of(2)};
        boolean[] outputs = new boolean[6];
        Arrays.fill(outputs, true);
        float[][] tree = rows(fresh(file).forward(Batch.ofTokens(tokens, positions, seqs, outputs)));
        for (int i = 0; i < 4; i++) assertArrayEquals(withX[i], tree[i], "prefix token " + i);
        assertArrayEquals(withX[4], tree[4], "branch 1");
        assertArrayEquals(withY[4], tree[5], "branch 2");
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "synth-falcon40b-F16.gguf"})
    void aChainOfSlicesGivesTheFullModelsLogits(String model) throws IOException {
        GgufFile file = open(model);
        int layers = fresh(file).config().layers();
        LayerSlice full = fresh(file);
        float[][] prompt = run(full, slice(PROMPT, 0, 8), 0);
        float[][] step = run(full, slice(PROMPT, 8, 9), 8);
        for (int k = 1; k < layers; k++) {
            LayerSlice head = LayerSlice.load(file, 0, k, options(), pool);
            LayerSlice tail = LayerSlice.load(file, k, layers, options(), pool);
            assertFalse(head.hasOutput());
            assertFalse(tail.hasEmbedding());
            for (int[] range : new int[][]{{0, 8}, {8, 9}}) {
                Batch batch = Batch.sequence(slice(PROMPT, range[0], range[1]), range[0], 0, true);
                SliceOutput activations = head.forward(batch);
                assertFalse(activations.logits());
                assertEquals(batch.size(), activations.rows());
                float[][] logits = rows(tail.forward(batch.withActivations(activations.data(), activations.width())));
                float[][] expected = range[0] == 0 ? prompt : step;
                for (int i = 0; i < logits.length; i++) assertArrayEquals(expected[i], logits[i], "split at " + k + ", row " + i);
            }
        }
    }

    @Test
    void onlyTheTokensThatAskForOutputGetALogitRow() throws IOException {
        GgufFile file = open(MODELS[0]);
        float[][] all = run(fresh(file), PROMPT, 0);
        boolean[] outputs = new boolean[PROMPT.length];
        outputs[2] = outputs[7] = true;
        int[] positions = new int[PROMPT.length];
        long[] seqs = new long[PROMPT.length];
        for (int i = 0; i < PROMPT.length; i++) {
            positions[i] = i;
            seqs[i] = SequenceSet.of(0);
        }
        SliceOutput out = fresh(file).forward(Batch.ofTokens(PROMPT, positions, seqs, outputs));
        assertTrue(out.logits());
        assertEquals(2, out.rows());
        assertEquals(512, out.width());
        assertArrayEquals(all[2], out.row(0));
        assertArrayEquals(all[7], out.row(1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "synth-falcon40b-F16.gguf"})
    void sequenceEditsBehaveLikeTheRunsTheyStandFor(String model) throws IOException {
        GgufFile file = open(model);
        int[] p = slice(PROMPT, 0, 5);
        int x = PROMPT[5], y = PROMPT[8], z = PROMPT[9];
        float[] pxLast = last(run(fresh(file), concat(p, x), 0));
        float[] pyLast = last(run(fresh(file), concat(p, y), 0));
        float[] pxzLast = last(run(fresh(file), concat(p, x, z), 0));

        LayerSlice s = fresh(file);
        run(s, p, 0);
        s.kvCache().copySequence(0, 1, 0, -1);               // fork: sequence 1 shares the prompt's cells
        assertEquals(p.length, s.kvCache().usedCells(), "a copy moves no data and takes no cells");
        assertArrayEquals(pxLast, step(s, x, p.length, 1), "x in the fork");
        assertArrayEquals(pyLast, step(s, y, p.length, 0), "y in the original");

        s.kvCache().removeSequence(0, p.length, -1);          // drop y from sequence 0
        assertEquals(p.length + 1, s.kvCache().usedCells());
        assertArrayEquals(pxLast, step(s, x, p.length, 0), "x again in sequence 0 after y was removed");

        s.kvCache().removeSequence(0, p.length, -1);
        s.kvCache().keepOnly(1);                              // the fork becomes the only text
        assertEquals(p.length + 1, s.kvCache().usedCells());
        assertEquals(0, s.kvCache().cellCount(0));
        assertArrayEquals(pxzLast, step(s, z, p.length + 1, 1), "continuing the kept sequence");
    }

    private static float[] step(LayerSlice s, int token, int pos, int seq) {
        return s.forward(Batch.sequence(new int[]{token}, pos, seq, false)).row(0);
    }

    private static float[] last(float[][] rows) {
        return rows[rows.length - 1];
    }

    @Test
    void cancellingAtALayerBoundaryLeavesTheCacheAsItWas() throws IOException {
        GgufFile file = open(MODELS[0]);
        LayerSlice s = fresh(file);
        float[][] expected = run(fresh(file), PROMPT, 0);
        run(s, slice(PROMPT, 0, 6), 0);
        int[] checks = {0};
        ForwardCancelledException e = assertThrows(ForwardCancelledException.class,
                () -> s.forward(Batch.sequence(slice(PROMPT, 6, 12), 6, 0, true), () -> ++checks[0] > 2));
        assertEquals(2, e.layer(), "checked before layers 0, 1, 2; stopped before layer 2");
        assertEquals(6, s.kvCache().usedCells(), "the cancelled batch's cells were freed");
        float[][] rest = run(s, slice(PROMPT, 6, 12), 6);
        for (int i = 0; i < rest.length; i++) assertArrayEquals(expected[6 + i], rest[i], "row " + (6 + i));
    }

    @Test
    void aFullCacheIsAClearErrorAndChangesNothing() throws IOException {
        GgufFile file = open(MODELS[0]);
        LayerSlice s = LayerSlice.loadAll(file, new SliceOptions(8, KvType.F16, GeluMode.EXACT, 2), pool);
        run(s, slice(PROMPT, 0, 6), 0);
        KvCacheFullException e = assertThrows(KvCacheFullException.class, () -> run(s, slice(PROMPT, 6, 9), 6));
        assertEquals(2, e.free());
        assertEquals(6, s.kvCache().usedCells());
        run(s, slice(PROMPT, 6, 8), 6);
        assertEquals(8, s.kvCache().usedCells());
    }

    @Test
    void badInputIsRefusedWithAReason() throws IOException {
        GgufFile file = open(MODELS[0]);
        LayerSlice first = LayerSlice.load(file, 0, 2, options(), pool);
        LayerSlice second = LayerSlice.load(file, 2, 5, options(), pool);
        Batch tokens = Batch.sequence(new int[]{1, 2}, 0, 0, true);
        var e = assertThrows(IllegalArgumentException.class, () -> second.forward(tokens));
        assertTrue(e.getMessage().contains("takes activations"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> first.forward(Batch.sequence(new int[]{512}, 0, 0, true)));
        assertTrue(e.getMessage().contains("outside the vocabulary"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LayerSlice.load(file, 3, 6, options(), pool));
        assertTrue(e.getMessage().contains("[3, 6)"), e.getMessage());
        assertEquals(0, first.kvCache().usedCells());
    }
}
