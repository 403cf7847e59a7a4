package dev.pipeinfer.transformer;

import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.tensor.Exponential;
import dev.pipeinfer.transformer.kv.KvCache;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal multi-head attention over a sequence-aware {@link KvCache}, for the tokens of one batch.
 *
 * <p>Before the first layer, {@link #plan} lists for every token of the batch the cells it sees: those
 * whose position is at most the token's and whose sequence set intersects the token's (the batch's own
 * cells included, since a batch writes its K/V before attending). The list is in (position, cell) order
 * and is the same for every layer of the slice.
 *
 * <p><b>Batch invariance.</b> A (token, head) pair is computed by one thread (with the other query heads of
 * its K/V head, whose rows it shares, or a slice of them when there are more threads than such groups), visiting its cells in that fixed order: scores, max, exponentials summed in double, then the weighted sum of V rows in the same
 * order. Nothing depends on the other tokens of the batch, on where the cells sit in the cache, or on
 * the thread count.
 *
 * <p><b>Narrow heads.</b> A head shorter than one vector (stories260K's 8 values, say) would make every
 * score a short chain of dependent scalar adds. Such heads compute the same sums, in the same order and
 * with the same roundings, for {@link #LANES} cells at once: the layer's K and V rows are first staged as
 * floats, the scores gather one value from each of {@code LANES} rows per step, and the weighted sum of V
 * keeps the head's values in one masked vector. The results are bit-identical to the grouped path that wider
 * heads take, a cell at a time ({@code AttentionTest} holds both to that).
 */
final class Attention {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = F.length();
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int groupSize;
    private final float scale;

    // The plan: token t sees visible[offsets[t] .. offsets[t+1]).
    private int[] visible = new int[0];
    private int[] offsets = new int[1];
    private int[] byPosition = new int[0];
    private int usedCells;
    private int tokens;

    // Narrow heads: visibleRows[k] = visible[k] * kvDim, and the staged rows of the current layer.
    private final boolean narrow;
    private final VectorMask<Float> headMask;
    private int[] visibleRows = new int[0];
    private float[] keyStaging = new float[0], valueStaging = new float[0];

    private final Job job = new Job();

    /**
     * Cells whose K rows, then V rows, the grouped path stages together: consecutive cells' rows are adjacent in
     * the cache and convert in one loop, and each query head's output stays in registers across a block of V
     * rows ({@link AttentionKernels#addWeightedRows}) instead of being loaded and stored again for every cell.
     */
    static final int CELL_BLOCK = 32;

    /** The per-worker row scratch {@link #attend} needs: a dot's lanes, a block of staged K or V rows, their weights. */
    static int rowScratchSize(int headDim) {
        return AttentionKernels.SPILL + CELL_BLOCK * (headDim + 1);
    }

    Attention(int heads, int kvHeads, int headDim) {
        this(heads, kvHeads, headDim, headDim < LANES);
    }

    /** {@code narrow}: use the narrow-head path (for heads up to one vector; tests compare the two paths). */
    Attention(int heads, int kvHeads, int headDim, boolean narrow) {
        if (narrow && headDim > LANES) throw new IllegalArgumentException("head of " + headDim + " is not narrow");
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.groupSize = heads / kvHeads;
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        this.narrow = narrow;
        this.headMask = narrow ? F.indexInRange(0, headDim) : null;
    }

    /** Lists the cells each token of the batch attends to; call after the batch's cells are allocated. */
    void plan(KvCache kv, Batch batch) {
        int n = batch.size();
        if (byPosition.length < kv.capacity()) byPosition = new int[kv.capacity()];
        if (offsets.length < n + 1) offsets = new int[n + 1];
        int used = kv.usedCellsByPosition(byPosition);
        long total = 0;
        for (int t = 0; t < n; t++) {
            int pos = batch.position(t);
            long seqs = batch.sequences(t);
            for (int i = 0; i < used; i++) if (kv.visible(byPosition[i], pos, seqs)) total++;
        }
        if (total > Integer.MAX_VALUE - 16) throw new IllegalStateException("attention plan too large: " + total);
        if (visible.length < total) visible = new int[(int) total];
        int k = 0;
        for (int t = 0; t < n; t++) {
            offsets[t] = k;
            int pos = batch.position(t);
            long seqs = batch.sequences(t);
            for (int i = 0; i < used; i++) {
                int cell = byPosition[i];
                if (kv.visible(cell, pos, seqs)) visible[k++] = cell;
            }
        }
        offsets[n] = k;
        tokens = n;
        usedCells = used;
        if (narrow) {
            // padded: a masked gather reads a whole vector of indices, even for lanes it leaves out
            if (visibleRows.length < k + LANES) visibleRows = new int[k + LANES];
            for (int i = 0; i < k; i++) visibleRows[i] = kv.offset(visible[i], 0);
        }
    }

    /**
     * out[t] = attention of query rows q[t] (heads x headDim, already rotated) over the planned cells of
     * slice layer {@code layer}; q and out are row-major [tokens x heads*headDim].
     */
    void attend(KvCache kv, int layer, float[] q, float[] out, ComputePool pool, float[][] scoreScratch,
                float[][] rowScratch) {
        synchronized (job) {
            if (narrow) {
                if (keyStaging.length < kv.rowsAsF32Size()) {
                    keyStaging = new float[kv.rowsAsF32Size()];
                    valueStaging = new float[kv.rowsAsF32Size()];
                }
                job.keys = kv.keyRowsAsF32(layer, byPosition, usedCells, keyStaging);
                job.values = kv.valueRowsAsF32(layer, byPosition, usedCells, valueStaging);
            }
            job.kv = kv;
            job.layer = layer;
            job.q = q;
            job.out = out;
            job.scores = scoreScratch;
            job.rows = rowScratch;
            try {
                job.parts = narrow ? 1 : headParts(pool.threads());
                pool.run(tokens * (narrow ? heads : kvHeads * job.parts), 1, job);
            } finally {
                job.kv = null;
                job.keys = job.values = null;
                job.q = job.out = null;
                job.scores = job.rows = null;
            }
        }
    }

    /**
     * Into how many slices of query heads the grouped path splits each (token, K/V head) pair, so that every
     * thread has work when the batch has fewer such pairs than the pool has threads: a decoded token of
     * Falcon-7B (one K/V head for 71 query heads) would otherwise leave all but one thread idle in
     * attention, as would TinyLlama's four K/V heads on eight threads. Each head's sums are the same
     * whichever slice computes it, so the split changes no bits; a slice stages its group's K and V rows again.
     */
    int headParts(int threads) {
        int pairs = tokens * kvHeads;
        if (pairs == 0 || pairs >= threads) return 1;
        return Math.min(groupSize, (threads + pairs - 1) / pairs);
    }

    /** Longest visible list of the current plan. */
    int longestPlan() {
        int longest = 0;
        for (int t = 0; t < tokens; t++) longest = Math.max(longest, offsets[t + 1] - offsets[t]);
        return longest;
    }

    /** The score scratch each worker needs: a query group's scores (one list per head) and their sums. */
    int scoreSpace() {
        return groupSize * (longestPlan() + 1);
    }

    private final class Job implements ComputePool.RangeJob {
        KvCache kv;
        int layer;
        float[] q, out;
        float[][] scores;
        float[][] rows;
        float[] keys, values;
        int parts;

        @Override
        public void run(int worker, int from, int to) {
            float[] s = scores[worker];
            float[] row = rows[worker];
            int width = heads * headDim;
            // a slice's heads: a multiple of four (for AttentionKernels.fourDots) where the group has four for each slice
            int perPart = (groupSize + parts - 1) / parts;
            if (groupSize >= 4 * parts) perPart = (perPart + 3) & ~3;
            for (int item = from; item < to; item++) {
                if (!narrow) {
                    int pair = item / parts, part = item % parts;
                    int h0 = Math.min(groupSize, part * perPart), h1 = Math.min(groupSize, h0 + perPart);
                    if (h0 < h1) attendGroup(pair / kvHeads, pair % kvHeads, h0, h1, s, row);
                    continue;
                }
                int t = item / heads, h = item % heads;
                int qOffset = t * width + h * headDim;
                int kvFrom = kv.offset(0, (h / groupSize) * headDim); // the head's rows in the staged arrays
                int first = offsets[t], count = offsets[t + 1] - first;
                attendNarrow(qOffset, kvFrom, first, count, s, row);
            }
        }

        /**
         * One token against one K/V head, for its query heads h0 .. h1 (all of them unless {@link #headParts}
         * splits the group): the K rows, then the V rows, of {@link #CELL_BLOCK} cells at a time are staged
         * (converted from F16) from consecutive memory ({@link KvCache#stageKeys}) once for the whole group instead
         * of once per head (once per head it cost half of a token's time at 1024 cells of context), a K row
         * feeding eight or four heads' dots at a time ({@link AttentionKernels#eightDots}), each head's output kept
         * in registers across a block of V rows ({@link AttentionKernels#addWeightedRows}). Every head's score ({@link
         * AttentionKernels#dot}'s operations, times the scale), exponentials (summed in double, in cell order) and
         * weighted sum of V rows (a multiply and an add per element, cell order) are those of the one-head,
         * one-cell kernels, so the bits do not depend on the blocking. Scores of head i at {@code s[i count ..]},
         * the heads' 1 / sums after them.
         */
        private void attendGroup(int t, int g, int h0, int h1, float[] s, float[] row) {
            int width = heads * headDim, first = offsets[t], count = offsets[t + 1] - first;
            int kvFrom = g * headDim, q0 = t * width + g * groupSize * headDim, sums = groupSize * count;
            int block = AttentionKernels.SPILL, weights = block + CELL_BLOCK * headDim;
            for (int j0 = 0; j0 < count; j0 += CELL_BLOCK) {
                int cells = Math.min(CELL_BLOCK, count - j0);
                kv.stageKeys(layer, visible, first + j0, cells, kvFrom, row, block);
                for (int j = j0, rowAt = block; j < j0 + cells; j++, rowAt += headDim) {
                    int i = h0;
                    for (; i + 8 <= h1; i += 8) {
                        AttentionKernels.eightDots(q, q0 + i * headDim, headDim, row, rowAt, scale, s, i * count + j, count);
                    }
                    for (; i + 4 <= h1; i += 4) {
                        int qi = q0 + i * headDim, si = i * count + j;
                        AttentionKernels.fourDots(q, qi, qi + headDim, qi + 2 * headDim, qi + 3 * headDim, headDim, row, rowAt,
                                scale, s, si, si + count, si + 2 * count, si + 3 * count);
                    }
                    for (; i < h1; i++) s[i * count + j] = AttentionKernels.dot(q, q0 + i * headDim, headDim, row, rowAt) * scale;
                }
            }
            softmaxes(s, h0, h1, count, sums);
            for (int i = h0; i < h1; i++) java.util.Arrays.fill(out, q0 + i * headDim, q0 + (i + 1) * headDim, 0f);
            for (int j0 = 0; j0 < count; j0 += CELL_BLOCK) {
                int cells = Math.min(CELL_BLOCK, count - j0);
                kv.stageValues(layer, visible, first + j0, cells, kvFrom, row, block);
                for (int i = h0; i < h1; i++) {
                    for (int c = 0; c < cells; c++) row[weights + c] = s[i * count + j0 + c] * s[sums + i];
                    AttentionKernels.addWeightedRows(row, weights, cells, row, block, headDim, out, q0 + i * headDim);
                }
            }
        }

        /** {@link #attendGroup}'s sums for one head under one vector, {@link #LANES} cells per step (same bits). */
        private void attendNarrow(int qOffset, int kvFrom, int first, int count, float[] s, float[] row) {
            // score of cell j: sum += q[i] * k[i] for i = 0.. in order, then * scale, lane j of a vector
            float max = Float.NEGATIVE_INFINITY;
            int j = 0;
            for (; j < count; j += LANES) {
                VectorMask<Float> cells = F.indexInRange(j, count); // all lanes but at the end
                FloatVector sum = FloatVector.zero(F);
                for (int i = 0; i < headDim; i++) {
                    FloatVector k = FloatVector.fromArray(F, keys, kvFrom + i, visibleRows, first + j, cells);
                    sum = sum.add(k.mul(q[qOffset + i]));
                }
                sum = sum.mul(scale);
                sum.intoArray(s, j, cells);
                max = Math.max(max, sum.reduceLanes(VectorOperators.MAX, cells));
            }
            float inverse = exponentiate(s, count, max);
            // out[i] += weight * v[i], cell after cell, the head's values in one masked vector
            FloatVector acc = FloatVector.zero(F);
            for (j = 0; j < count; j++) {
                FloatVector v = FloatVector.fromArray(F, values, visibleRows[first + j] + kvFrom, headMask);
                acc = acc.add(v.mul(s[j] * inverse));
            }
            acc.intoArray(row, 0);
            System.arraycopy(row, 0, out, qOffset, headDim);
        }

        /**
         * Heads h0 .. h1's scores ({@code s[i count ..]}) made {@link #exponentiate}'s exponentials, their 1 / sums at
         * {@code s[sums + i]}: the maxima on vectors (a maximum is the same in any order), the sums in double, each in
         * cell order as {@link #inverseSum} adds them, four heads' sums side by side in one loop so that four chains of dependent adds
         * are in flight rather than one.
         */
        private static void softmaxes(float[] s, int h0, int h1, int count, int sums) {
            for (int i = h0; i < h1; i++) {
                int at = i * count, j = 0;
                float max = Float.NEGATIVE_INFINITY;
                if (count >= LANES) {
                    FloatVector m = FloatVector.fromArray(F, s, at);
                    for (j = LANES; j + LANES <= count; j += LANES) m = m.max(FloatVector.fromArray(F, s, at + j));
                    max = m.reduceLanes(VectorOperators.MAX);
                }
                for (; j < count; j++) max = Math.max(max, s[at + j]);
                Exponential.expShifted(s, at, count, max, s, at);
            }
            int i = h0;
            for (; i + 4 <= h1; i += 4) {
                int a0 = i * count, a1 = a0 + count, a2 = a1 + count, a3 = a2 + count;
                double sum0 = 0, sum1 = 0, sum2 = 0, sum3 = 0;
                for (int j = 0; j < count; j++) {
                    sum0 += s[a0 + j];
                    sum1 += s[a1 + j];
                    sum2 += s[a2 + j];
                    sum3 += s[a3 + j];
                }
                s[sums + i] = (float) (1.0 / sum0);
                s[sums + i + 1] = (float) (1.0 / sum1);
                s[sums + i + 2] = (float) (1.0 / sum2);
                s[sums + i + 3] = (float) (1.0 / sum3);
            }
            for (; i < h1; i++) s[sums + i] = inverseSum(s, i * count, count);
        }

        /** s[j] = exp(s[j] - max) for j < count, summed in double in order; returns 1 / the sum. */
        private static float exponentiate(float[] s, int count, float max) {
            Exponential.expShifted(s, 0, count, max, s, 0);
            return inverseSum(s, 0, count);
        }

        /** 1 / the sum of {@code s[at .. at + count)}, added in double in order. */
        private static float inverseSum(float[] s, int at, int count) {
            double sum = 0;
            for (int j = 0; j < count; j++) sum += s[at + j];
            return (float) (1.0 / sum);
        }
    }
}
