package dev.pipeinfer.transformer.kv;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The key/value cache of one layer slice, with sequences (DESIGN §6).
 *
 * <p>The cache is a fixed number of <em>cells</em>. A cell holds, for every layer of the slice, the K and V
 * rows of one token, plus the token's position and its set of sequence ids (a {@link SequenceSet} bitmask).
 * A free cell has the empty set. A token with sequence set S at position p attends to every cell whose
 * position is at most p and whose set intersects S.
 *
 * <p>Editing sequences never moves K/V data: {@link #copySequence} adds an id to cells' sets,
 * {@link #removeSequence} takes it away and frees cells left with no sequence, {@link #keepOnly} drops every
 * other sequence. Allocation is deterministic: a batch takes the lowest free cells, in batch order.
 *
 * <p>Not thread-safe: one pipeline stage owns its cache and applies runs and edits in arrival order, one at a
 * time (runs on its compute thread, edits on its stage thread, each after the previous one has returned).
 */
public final class KvCache {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = F.length();

    private final int capacity;
    private final int layers;
    private final int kvDim;
    private final int headDim;
    private final KvType type;

    private final int[] positions;
    private final long[] sequences;
    private int used;

    // Per layer of the slice, per K/V head: capacity rows of headDim values (see offset), in one of the two storage types.
    private final float[][] keysF32;
    private final float[][] valuesF32;
    private final short[][] keysF16;
    private final short[][] valuesF16;

    /** Scratch for sorting used cells by (position, cell); preallocated so attention allocates nothing. */
    private final long[] sortKeys;

    /** A cache whose rows are one head of {@code kvDim} values; see {@link #KvCache(int, int, int, int, KvType)}. */
    public KvCache(int capacity, int layers, int kvDim, KvType type) {
        this(capacity, layers, 1, kvDim, type);
    }

    /**
     * @param capacity cells (the context size: how many tokens, over all sequences, fit at once)
     * @param layers   layers of the slice this cache serves
     * @param kvHeads  K/V heads; a cell's K (or V) row is kvHeads x headDim values
     * @param headDim  values of one head
     */
    public KvCache(int capacity, int layers, int kvHeads, int headDim, KvType type) {
        if (capacity <= 0 || layers < 0 || kvHeads <= 0 || headDim <= 0) {
            throw new IllegalArgumentException("KV cache needs capacity > 0 (got " + capacity + "), layers >= 0 (got "
                    + layers + "), kvHeads > 0 (got " + kvHeads + ") and headDim > 0 (got " + headDim + ")");
        }
        if ((long) capacity * kvHeads * headDim > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("KV cache of " + capacity + " cells x " + (long) kvHeads * headDim
                    + " values per layer exceeds one array; use a smaller context");
        }
        int kvDim = kvHeads * headDim;
        this.capacity = capacity;
        this.layers = layers;
        this.kvDim = kvDim;
        this.headDim = headDim;
        this.type = type;
        this.positions = new int[capacity];
        this.sequences = new long[capacity];
        this.sortKeys = new long[capacity];
        Arrays.fill(positions, -1);
        int rowValues = capacity * kvDim;
        if (type == KvType.F32) {
            // padded by a vector so that a masked load of the last row's last head stays in bounds
            rowValues += LANES;
            keysF32 = new float[layers][rowValues];
            valuesF32 = new float[layers][rowValues];
            keysF16 = valuesF16 = null;
        } else {
            keysF16 = new short[layers][rowValues];
            valuesF16 = new short[layers][rowValues];
            keysF32 = valuesF32 = null;
        }
    }

    public int capacity() {
        return capacity;
    }

    public int layers() {
        return layers;
    }

    public int kvDim() {
        return kvDim;
    }

    public KvType type() {
        return type;
    }

    /** Cells holding at least one sequence. */
    public int usedCells() {
        return used;
    }

    public int freeCells() {
        return capacity - used;
    }

    /** Position of a cell's token, or -1 when the cell is free. */
    public int position(int cell) {
        return positions[cell];
    }

    /** Sequence set of a cell ({@link SequenceSet#EMPTY} when free). */
    public long sequences(int cell) {
        return sequences[cell];
    }

    /** Largest position held by {@code seq}, or -1 when the sequence has no cell. */
    public int maxPosition(int seq) {
        long bit = SequenceSet.of(seq);
        int max = -1;
        for (int c = 0; c < capacity; c++) if ((sequences[c] & bit) != 0) max = Math.max(max, positions[c]);
        return max;
    }

    /** Number of cells whose set contains {@code seq}. */
    public int cellCount(int seq) {
        long bit = SequenceSet.of(seq);
        int n = 0;
        for (int c = 0; c < capacity; c++) if ((sequences[c] & bit) != 0) n++;
        return n;
    }

    // ---- allocation ------------------------------------------------------------------------------------

    /**
     * Takes the lowest free cells for {@code n} tokens, in order, tagging them with the tokens' positions
     * and sequence sets. All or nothing: when too few cells are free, nothing changes and a
     * {@link KvCacheFullException} is thrown.
     */
    public void allocate(int n, int[] tokenPositions, long[] tokenSequences, int[] cellsOut) {
        if (n > capacity - used) throw new KvCacheFullException(n, capacity - used, capacity);
        for (int i = 0; i < n; i++) {
            if (tokenSequences[i] == SequenceSet.EMPTY) {
                throw new IllegalArgumentException("token " + i + " of the batch has an empty sequence set");
            }
            if (tokenPositions[i] < 0) {
                throw new IllegalArgumentException("token " + i + " of the batch has negative position " + tokenPositions[i]);
            }
        }
        int cell = 0;
        for (int i = 0; i < n; i++) {
            while (sequences[cell] != SequenceSet.EMPTY) cell++;
            positions[cell] = tokenPositions[i];
            sequences[cell] = tokenSequences[i];
            cellsOut[i] = cell;
            used++;
        }
    }

    /** Frees the given cells (e.g. a cancelled run's cells); already free cells are left alone. */
    public void free(int[] cells, int n) {
        for (int i = 0; i < n; i++) freeCell(cells[i]);
    }

    private void freeCell(int c) {
        if (sequences[c] != SequenceSet.EMPTY) used--;
        sequences[c] = SequenceSet.EMPTY;
        positions[c] = -1;
    }

    // ---- sequence edits ----------------------------------------------------------------------------------

    /** Adds {@code dst} to the set of every cell of {@code src} with position in [p0, p1); p1 < 0 means no end. */
    public void copySequence(int src, int dst, int p0, int p1) {
        long srcBit = SequenceSet.of(src), dstBit = SequenceSet.of(dst);
        for (int c = 0; c < capacity; c++) {
            if ((sequences[c] & srcBit) != 0 && inRange(positions[c], p0, p1)) sequences[c] |= dstBit;
        }
    }

    /**
     * Removes {@code seq} from every cell with position in [p0, p1) (p1 < 0: no end) and frees the cells
     * whose set becomes empty.
     */
    public void removeSequence(int seq, int p0, int p1) {
        long bit = SequenceSet.of(seq);
        for (int c = 0; c < capacity; c++) {
            if ((sequences[c] & bit) != 0 && inRange(positions[c], p0, p1)) {
                if (sequences[c] == bit) freeCell(c);
                else sequences[c] &= ~bit;
            }
        }
    }

    /** Frees every cell that does not hold {@code seq}, and leaves {@code seq} alone in the sets of the others. */
    public void keepOnly(int seq) {
        long bit = SequenceSet.of(seq);
        for (int c = 0; c < capacity; c++) {
            if ((sequences[c] & bit) != 0) sequences[c] = bit;
            else if (sequences[c] != SequenceSet.EMPTY) freeCell(c);
        }
    }

    /** Frees every cell. */
    public void clear() {
        Arrays.fill(sequences, SequenceSet.EMPTY);
        Arrays.fill(positions, -1);
        used = 0;
    }

    private static boolean inRange(int pos, int p0, int p1) {
        return pos >= p0 && (p1 < 0 || pos < p1);
    }

    // ---- attention support ---------------------------------------------------------------------------

    /**
     * Writes the used cells into {@code out} ordered by position, then by cell index, and returns how many.
     * Attention visits cells in this order, so a token's result depends only on which (position, K, V) it
     * sees, not on where in the cache they happen to live: that keeps a token's logits bit-identical
     * whether it was computed alone, in a batch, or after other runs came and went.
     */
    public int usedCellsByPosition(int[] out) {
        int n = 0;
        for (int c = 0; c < capacity; c++) {
            if (sequences[c] != SequenceSet.EMPTY) sortKeys[n++] = ((long) positions[c] << 32) | c;
        }
        Arrays.sort(sortKeys, 0, n);
        for (int i = 0; i < n; i++) out[i] = (int) sortKeys[i];
        return n;
    }

    /** Does a token at {@code pos} with sequence set {@code seqs} see {@code cell}? */
    public boolean visible(int cell, int pos, long seqs) {
        return (sequences[cell] & seqs) != 0 && positions[cell] <= pos;
    }

    /**
     * Where value {@code from} of a cell's K or V row (kvHeads x headDim values) sits in a layer's storage, and in
     * the arrays {@link #keyRowsAsF32} returns: head by head, each head's rows cell after cell, so that attention,
     * which reads one head's rows of many cells, reads them from consecutive memory (with rows of all heads side
     * by side it read a short piece of every row: twice the time to stage a 1.1B model's rows at 1024 cells).
     * {@code offset(cell, from) = offset(cell, 0) + offset(0, from)} for {@code from} within a row.
     */
    public int offset(int cell, int from) {
        return ((from / headDim) * capacity + cell) * headDim + from % headDim;
    }

    /** Stores a token's K and V rows ({@code kvDim} values each) in {@code cell} for slice layer {@code layer}. */
    public void write(int layer, int cell, float[] k, int kOffset, float[] v, int vOffset) {
        for (int h = 0; h < kvDim; h += headDim) {
            int base = offset(cell, h);
            if (type == KvType.F32) {
                System.arraycopy(k, kOffset + h, keysF32[layer], base, headDim);
                System.arraycopy(v, vOffset + h, valuesF32[layer], base, headDim);
            } else {
                short[] ks = keysF16[layer], vs = valuesF16[layer];
                for (int i = 0; i < headDim; i++) {
                    ks[base + i] = Float.floatToFloat16(k[kOffset + h + i]);
                    vs[base + i] = Float.floatToFloat16(v[vOffset + h + i]);
                }
            }
        }
    }

    /** Floats a staging array for {@link #keyRowsAsF32} and {@link #valueRowsAsF32} needs. */
    public int rowsAsF32Size() {
        return capacity * kvDim + LANES;
    }

    /**
     * The K rows of slice layer {@code layer} as floats, indexed like the cache ({@link #offset}):
     * the cache's own array when it stores F32, else {@code staging} (at least {@link #rowsAsF32Size()}
     * floats) with the rows of {@code cells[0 .. count)} converted exactly; other rows of it are stale.
     */
    public float[] keyRowsAsF32(int layer, int[] cells, int count, float[] staging) {
        if (type == KvType.F32) return keysF32[layer];
        return toF32(keysF16[layer], cells, count, staging);
    }

    /** The V rows of slice layer {@code layer} as floats; see {@link #keyRowsAsF32}. */
    public float[] valueRowsAsF32(int layer, int[] cells, int count, float[] staging) {
        if (type == KvType.F32) return valuesF32[layer];
        return toF32(valuesF16[layer], cells, count, staging);
    }

    private float[] toF32(short[] rows, int[] cells, int count, float[] staging) {
        for (int h = 0; h < kvDim; h += headDim) {
            for (int c = 0; c < count; c++) {
                int base = offset(cells[c], h);
                for (int i = base; i < base + headDim; i++) staging[i] = Float.float16ToFloat(rows[i]);
            }
        }
        return staging;
    }

    /**
     * One head's K rows (values {@code from .. from + headDim} of each row) of the cells {@code cells[first ..
     * first + count)} as floats into {@code dst[at ..]}, a row after another: consecutive cells, whose rows
     * are adjacent in the cache, in one go (converted from F16 exactly, in a loop long enough for C2 to
     * vectorize it). Attention's arithmetic on staged rows is in {@code AttentionKernels}.
     */
    public void stageKeys(int layer, int[] cells, int first, int count, int from, float[] dst, int at) {
        stageRows(keysF32 == null ? null : keysF32[layer], keysF16 == null ? null : keysF16[layer], cells, first, count,
                from, dst, at);
    }

    /** {@link #stageKeys} for V. */
    public void stageValues(int layer, int[] cells, int first, int count, int from, float[] dst, int at) {
        stageRows(valuesF32 == null ? null : valuesF32[layer], valuesF16 == null ? null : valuesF16[layer], cells, first,
                count, from, dst, at);
    }

    private void stageRows(float[] f32, short[] f16, int[] cells, int first, int count, int from, float[] dst, int at) {
        if (from % headDim != 0) throw new IllegalArgumentException("rows are staged a head at a time, not from value " + from);
        for (int c = 0; c < count; ) {
            int run = 1;
            while (c + run < count && cells[first + c + run] == cells[first + c] + run) run++;
            int base = offset(cells[first + c], from), len = run * headDim, to = at + c * headDim;
            if (f32 != null) System.arraycopy(f32, base, dst, to, len);
            else for (int i = 0; i < len; i++) dst[to + i] = Float.float16ToFloat(f16[base + i]);
            c += run;
        }
    }

    @Override
    public String toString() {
        return "KvCache[" + type + ", " + used + "/" + capacity + " cells, " + layers + " layers x " + kvDim + "]";
    }
}
