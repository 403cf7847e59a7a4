package dev.pipeinfer.transformer.kv;

import org.junit.jupiter.api.Test;

import static dev.pipeinfer.transformer.kv.SequenceSet.of;
import static org.junit.jupiter.api.Assertions.*;

class KvCacheTest {

    private static int[] allocate(KvCache kv, int[] positions, long[] seqs) {
        int[] cells = new int[positions.length];
        kv.allocate(positions.length, positions, seqs, cells);
        return cells;
    }

    private static int[] range(int from, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = from + i;
        return p;
    }

    private static long[] same(long set, int n) {
        long[] s = new long[n];
        java.util.Arrays.fill(s, set);
        return s;
    }

    @Test
    void cellsAreTakenLowestFreeFirstInBatchOrder() {
        KvCache kv = new KvCache(8, 1, 4, KvType.F32);
        assertArrayEquals(new int[]{0, 1, 2}, allocate(kv, range(0, 3), same(of(0), 3)));
        assertArrayEquals(new int[]{3, 4}, allocate(kv, range(0, 2), same(of(1), 2)));
        kv.removeSequence(0, 1, 2); // frees cell 1
        assertEquals(4, kv.usedCells());
        assertArrayEquals(new int[]{1, 5}, allocate(kv, range(3, 2), same(of(0), 2)));
        assertEquals(3, kv.position(1));
    }

    @Test
    void aFullCacheRefusesTheWholeBatchAndChangesNothing() {
        KvCache kv = new KvCache(4, 1, 4, KvType.F32);
        allocate(kv, range(0, 3), same(of(0), 3));
        KvCacheFullException e = assertThrows(KvCacheFullException.class,
                () -> allocate(kv, range(3, 2), same(of(0), 2)));
        assertEquals(2, e.needed());
        assertEquals(1, e.free());
        assertTrue(e.getMessage().contains("KV cache full"), e.getMessage());
        assertEquals(3, kv.usedCells());
        assertEquals(-1, kv.position(3));
    }

    @Test
    void copySequenceTagsCellsWithoutMovingThem() {
        KvCache kv = new KvCache(8, 1, 4, KvType.F32);
        allocate(kv, range(0, 4), same(of(1), 4));
        kv.copySequence(1, 0, 1, 3);
        assertEquals(of(1), kv.sequences(0));
        assertEquals(of(0, 1), kv.sequences(1));
        assertEquals(of(0, 1), kv.sequences(2));
        assertEquals(of(1), kv.sequences(3));
        assertEquals(2, kv.cellCount(0));
        kv.copySequence(1, 2, 0, -1); // p1 < 0: to the end
        assertEquals(4, kv.cellCount(2));
        assertEquals(4, kv.usedCells());
    }

    @Test
    void removeSequenceFreesOnlyCellsLeftWithoutAnySequence() {
        KvCache kv = new KvCache(8, 1, 4, KvType.F32);
        allocate(kv, range(0, 4), same(of(0, 1), 4));
        allocate(kv, new int[]{4}, new long[]{of(1)});
        kv.removeSequence(1, 2, -1);
        assertEquals(of(0, 1), kv.sequences(1));
        assertEquals(of(0), kv.sequences(2));
        assertEquals(SequenceSet.EMPTY, kv.sequences(4));
        assertEquals(-1, kv.position(4));
        assertEquals(4, kv.usedCells());
        kv.removeSequence(0, 0, -1);
        assertEquals(2, kv.usedCells(), "cells 0 and 1 still hold sequence 1");
        assertEquals(1, kv.maxPosition(1));
        assertEquals(-1, kv.maxPosition(0));
    }

    @Test
    void keepOnlyDropsEveryOtherSequence() {
        KvCache kv = new KvCache(8, 1, 4, KvType.F32);
        allocate(kv, range(0, 2), same(of(0, 3), 2));
        allocate(kv, range(2, 2), same(of(3), 2));
        allocate(kv, range(2, 2), same(of(4), 2));
        kv.keepOnly(3);
        assertEquals(4, kv.usedCells());
        for (int c = 0; c < 4; c++) assertEquals(of(3), kv.sequences(c));
        assertEquals(SequenceSet.EMPTY, kv.sequences(4));
        kv.clear();
        assertEquals(0, kv.usedCells());
        assertEquals(8, kv.freeCells());
    }

    @Test
    void visibilityIsPositionAtMostPAndIntersectingSets() {
        KvCache kv = new KvCache(8, 1, 4, KvType.F32);
        allocate(kv, new int[]{0, 1, 2, 2}, new long[]{of(0, 1), of(0, 1), of(0), of(1)});
        assertTrue(kv.visible(1, 2, of(1)));
        assertFalse(kv.visible(2, 2, of(1)), "other branch at the same position");
        assertTrue(kv.visible(3, 2, of(1)));
        assertFalse(kv.visible(3, 1, of(1)), "a later position is not visible");
        assertTrue(kv.visible(2, 5, of(0, 7)));
    }

    @Test
    void usedCellsAreOrderedByPositionThenCell() {
        KvCache kv = new KvCache(8, 1, 4, KvType.F32);
        allocate(kv, new int[]{5, 6, 7}, same(of(0), 3));
        kv.removeSequence(0, 5, 6);                                    // frees cell 0
        allocate(kv, new int[]{2, 2}, new long[]{of(1), of(2)});      // cells 0 and 3
        int[] out = new int[8];
        int n = kv.usedCellsByPosition(out);
        assertArrayEquals(new int[]{0, 3, 1, 2}, java.util.Arrays.copyOf(out, n));
    }

    @Test
    void f32StorageIsExactAndF16RoundsToNearestHalf() {
        int dim = 40; // whole vectors plus a tail for every lane count up to 16
        float[] k = new float[dim], v = new float[dim], q = new float[dim];
        for (int i = 0; i < dim; i++) {
            k[i] = (float) Math.sin(0.37 * i + 0.5) * 3.1f;
            v[i] = (float) Math.cos(0.21 * i) * 0.7f;
            q[i] = (float) Math.sin(0.11 * i + 1.1);
        }
        float[] scratch = new float[KvCache.scratchSize(dim)];
        for (KvType type : KvType.values()) {
            KvCache kv = new KvCache(2, 2, dim, type);
            kv.write(1, 1, k, 0, v, 0);
            double expectedDot = 0;
            float[] stored = new float[dim];
            float[] expectedV = new float[dim];
            float[] out = new float[dim];
            for (int i = 0; i < dim; i++) {
                float ki = type == KvType.F32 ? k[i] : Float.float16ToFloat(Float.floatToFloat16(k[i]));
                float vi = type == KvType.F32 ? v[i] : Float.float16ToFloat(Float.floatToFloat16(v[i]));
                stored[i] = ki;
                expectedDot += (double) q[i] * ki;
                out[i] = 0.25f * i;
                expectedV[i] = 0.25f * i + 2f * vi;
            }
            kv.stageKey(1, 1, 0, dim, scratch);
            float dot = KvCache.dotStaged(q, 0, dim, scratch);
            assertEquals(expectedDot, dot, 1e-5, type.toString());
            float[] again = new float[scratch.length];
            kv.stageKey(1, 1, 0, dim, again);
            assertEquals(dot, KvCache.dotStaged(q, 0, dim, again), 0f, "same bits every call");
            kv.stageValue(1, 1, 0, dim, scratch);
            KvCache.addWeightedStaged(2f, out, 0, dim, scratch);
            assertArrayEquals(expectedV, out, type + ": one multiply and one add per element");
            kv.stageKey(1, 1, 8, 8, scratch);
            assertEquals(dot(q, 8, stored, 8, 8), KvCache.dotStaged(q, 8, 8, scratch), 1e-5, "a head's part of the row");
        }
    }

    @Test
    void theBlockedKernelsGiveTheBitsOfTheOneRowKernelsForEveryHeadWidth() {
        java.util.Random random = new java.util.Random(5);
        for (int len : new int[] {4, 8, 24, 64, 80, 100, 128}) {
            int cells = 37, lanes = KvCache.scratchSize(len) - len;
            float[] rows = new float[cells * len], weights = new float[cells];
            for (int i = 0; i < rows.length; i++) rows[i] = (float) random.nextGaussian();
            for (int c = 0; c < cells; c++) weights[c] = random.nextFloat();
            float[] blocked = new float[len + 3], oneByOne = new float[len + 3], staged = new float[KvCache.scratchSize(len)];
            for (int i = 0; i < blocked.length; i++) blocked[i] = oneByOne[i] = (float) random.nextGaussian();
            KvCache.addWeightedRows(weights, 0, cells, rows, 0, len, blocked, 3);
            for (int c = 0; c < cells; c++) {
                System.arraycopy(rows, c * len, staged, lanes, len);
                KvCache.addWeightedStaged(weights[c], oneByOne, 3, len, staged);
            }
            assertArrayEquals(oneByOne, blocked, "weighted rows, len " + len);

            float[] q = new float[4 * len + 1], scores = new float[8];
            for (int i = 0; i < q.length; i++) q[i] = (float) random.nextGaussian();
            KvCache.fourDotsStaged(q, 1, 1 + len, 1 + 2 * len, 1 + 3 * len, len, staged, 0.125f, scores, 0, 2, 4, 6);
            for (int h = 0; h < 4; h++) {
                assertEquals(Float.floatToRawIntBits(KvCache.dotStaged(q, 1 + h * len, len, staged) * 0.125f),
                        Float.floatToRawIntBits(scores[2 * h]), "dot " + h + ", len " + len);
            }
            float[] eight = new float[8 * len + 1], eightScores = new float[24];
            for (int i = 0; i < eight.length; i++) eight[i] = (float) random.nextGaussian();
            KvCache.eightDotsStaged(eight, 1, len, staged, lanes, 0.125f, eightScores, 2, 3);
            for (int h = 0; h < 8; h++) {
                assertEquals(Float.floatToRawIntBits(KvCache.dotStaged(eight, 1 + h * len, len, staged) * 0.125f),
                        Float.floatToRawIntBits(eightScores[2 + 3 * h]), "dot " + h + " of eight, len " + len);
            }
        }
    }

    @Test
    void aHeadsRowsOfManyCellsStageAsEachCellsRowWouldWithGapsAndRunsAlike() {
        int kvHeads = 3, headDim = 20, kvDim = kvHeads * headDim;
        java.util.Random random = new java.util.Random(9);
        for (KvType type : KvType.values()) {
            KvCache kv = new KvCache(16, 2, kvHeads, headDim, type);
            float[] k = new float[kvDim], v = new float[kvDim];
            for (int cell = 0; cell < 16; cell++) {
                for (int i = 0; i < kvDim; i++) {
                    k[i] = (float) random.nextGaussian();
                    v[i] = (float) random.nextGaussian();
                }
                kv.write(1, cell, k, 0, v, 0);
            }
            int[] cells = {9, 3, 4, 5, 6, 0, 15, 14, 7, 8}; // runs (3-6, 7-8), gaps, and a step back
            for (int head = 0; head < kvHeads; head++) {
                int from = head * headDim;
                float[] keys = new float[2 + cells.length * headDim], values = new float[keys.length];
                kv.stageKeys(1, cells, 1, cells.length - 1, from, keys, 2);
                kv.stageValues(1, cells, 1, cells.length - 1, from, values, 2);
                float[] one = new float[KvCache.scratchSize(headDim)];
                for (int c = 1; c < cells.length; c++) {
                    kv.stageKey(1, cells[c], from, headDim, one);
                    for (int i = 0; i < headDim; i++) {
                        assertEquals(Float.floatToRawIntBits(one[one.length - headDim + i]),
                                Float.floatToRawIntBits(keys[2 + (c - 1) * headDim + i]), type + " K of cell " + cells[c] + ", head " + head);
                    }
                    kv.stageValue(1, cells[c], from, headDim, one);
                    for (int i = 0; i < headDim; i++) {
                        assertEquals(Float.floatToRawIntBits(one[one.length - headDim + i]),
                                Float.floatToRawIntBits(values[2 + (c - 1) * headDim + i]), type + " V of cell " + cells[c] + ", head " + head);
                    }
                }
                assertEquals(0f, keys[0] + keys[1] + values[0] + values[1], "nothing before the staged rows");
            }
            float[] stored = kv.keyRowsAsF32(1, cells, cells.length, new float[kv.rowsAsF32Size()]);
            assertEquals(kv.offset(5, 0) + kv.offset(0, 2 * headDim + 3), kv.offset(5, 2 * headDim + 3));
            float[] one = new float[KvCache.scratchSize(headDim)];
            kv.stageKey(1, 5, 2 * headDim, headDim, one);
            assertEquals(Float.floatToRawIntBits(one[one.length - headDim + 3]), Float.floatToRawIntBits(stored[kv.offset(5, 2 * headDim + 3)]),
                    type + ": the staged arrays are indexed by offset");
        }
    }

    private static double dot(float[] a, int from, float[] b, int bFrom, int len) {
        double s = 0;
        for (int i = 0; i < len; i++) s += (double) a[from + i] * b[bFrom + i];
        return s;
    }

    @Test
    void sequenceIdsOutsideTheBitsetAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> of(64));
        assertThrows(IllegalArgumentException.class, () -> of(-1));
        assertEquals("{0,5,63}", SequenceSet.toString(of(0, 5, 63)));
    }
}
