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
    void f32StorageIsExactAndF16RoundsToNearestHalfInEveryHeadOfTheRow() {
        int kvHeads = 2, headDim = 40, kvDim = kvHeads * headDim; // whole vectors plus a tail for every lane count up to 16
        float[] k = new float[kvDim], v = new float[kvDim];
        for (int i = 0; i < kvDim; i++) {
            k[i] = (float) Math.sin(0.37 * i + 0.5) * 3.1f;
            v[i] = (float) Math.cos(0.21 * i) * 0.7f;
        }
        for (KvType type : KvType.values()) {
            KvCache kv = new KvCache(2, 2, kvHeads, headDim, type);
            kv.write(1, 1, k, 0, v, 0);
            for (int head = 0; head < kvHeads; head++) {
                float[] keys = new float[headDim + 1], values = new float[headDim + 1];
                kv.stageKeys(1, new int[]{1}, 0, 1, head * headDim, keys, 1);
                kv.stageValues(1, new int[]{1}, 0, 1, head * headDim, values, 1);
                for (int i = 0; i < headDim; i++) {
                    float ki = k[head * headDim + i], vi = v[head * headDim + i];
                    if (type == KvType.F16) {
                        ki = Float.float16ToFloat(Float.floatToFloat16(ki));
                        vi = Float.float16ToFloat(Float.floatToFloat16(vi));
                    }
                    assertEquals(ki, keys[1 + i], 0f, type + " K, head " + head + ", value " + i);
                    assertEquals(vi, values[1 + i], 0f, type + " V, head " + head + ", value " + i);
                }
            }
        }
    }

    @Test
    void aHeadsRowsOfManyCellsStageInListOrderWithGapsAndRunsAlike() {
        int kvHeads = 3, headDim = 20, kvDim = kvHeads * headDim;
        java.util.Random random = new java.util.Random(9);
        for (KvType type : KvType.values()) {
            KvCache kv = new KvCache(16, 2, kvHeads, headDim, type);
            float[][] k = new float[16][kvDim], v = new float[16][kvDim];
            for (int cell = 0; cell < 16; cell++) {
                for (int i = 0; i < kvDim; i++) {
                    k[cell][i] = Float.float16ToFloat(Float.floatToFloat16((float) random.nextGaussian())); // exact in F16 too
                    v[cell][i] = Float.float16ToFloat(Float.floatToFloat16((float) random.nextGaussian()));
                }
                kv.write(1, cell, k[cell], 0, v[cell], 0);
            }
            int[] cells = {9, 3, 4, 5, 6, 0, 15, 14, 7, 8}; // runs (3-6, 7-8), gaps, and a step back
            for (int head = 0; head < kvHeads; head++) {
                int from = head * headDim;
                float[] keys = new float[2 + cells.length * headDim], values = new float[keys.length];
                kv.stageKeys(1, cells, 1, cells.length - 1, from, keys, 2);
                kv.stageValues(1, cells, 1, cells.length - 1, from, values, 2);
                for (int c = 1; c < cells.length; c++) {
                    for (int i = 0; i < headDim; i++) {
                        assertEquals(k[cells[c]][from + i], keys[2 + (c - 1) * headDim + i], 0f, type + " K of cell " + cells[c] + ", head " + head);
                        assertEquals(v[cells[c]][from + i], values[2 + (c - 1) * headDim + i], 0f, type + " V of cell " + cells[c] + ", head " + head);
                    }
                }
                assertEquals(0f, keys[0] + keys[1] + values[0] + values[1], "nothing before the staged rows");
            }
            assertThrows(IllegalArgumentException.class, () -> kv.stageKeys(1, cells, 0, 1, 5, new float[headDim], 0),
                    "rows are staged a head at a time");
            float[] stored = kv.keyRowsAsF32(1, cells, cells.length, new float[kv.rowsAsF32Size()]);
            assertEquals(kv.offset(5, 0) + kv.offset(0, 2 * headDim + 3), kv.offset(5, 2 * headDim + 3));
            assertEquals(k[5][2 * headDim + 3], stored[kv.offset(5, 2 * headDim + 3)], 0f, type + ": the staged arrays are indexed by offset");
        }
    }

    @Test
    void aCacheLargerThanOneArrayIsRefusedWithTheSizeEvenWhenHeadsTimesWidthOverflowsAnInt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new KvCache(4096, 1, 65536, 65536, KvType.F16));
        assertTrue(e.getMessage().contains("4096 cells x 4294967296 values"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new KvCache(1 << 20, 1, 64, 64, KvType.F32));
    }

    @Test
    void sequenceIdsOutsideTheBitsetAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> of(64));
        assertThrows(IllegalArgumentException.class, () -> of(-1));
        assertEquals("{0,5,63}", SequenceSet.toString(of(0, 5, 63)));
    }
}
