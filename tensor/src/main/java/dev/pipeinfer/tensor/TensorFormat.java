package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.LANES;

/**
 * One ggml element type as the kernels see it: its block layout, a scalar dequantizer written for
 * clarity (the reference, bit-identical to ggml's {@code dequantize_row_*}), a vectorized decoder that
 * gives the same bits faster, and, where we have one, a scalar quantizer that writes ggml's exact bytes.
 *
 * <p>Each supported type is one subclass ({@link Q4_0Format}, {@link Q4_KFormat}, ...) that holds all of
 * this for its type. Use {@link #of(GgmlType)} to get it. Offsets are byte offsets into the segment;
 * {@code k} (elements) must be a whole number of blocks.
 */
public abstract sealed class TensorFormat
        permits F32Format, F16Format, BF16Format, Q8_0Format, Q4_0Format, Q4_1Format, Q5_0Format, Q5_1Format,
                Q2_KFormat, Q3_KFormat, Q4_KFormat, Q5_KFormat, Q6_KFormat {

    /** Little-endian unaligned views: GGUF blocks are packed, so fields sit at any byte offset. */
    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final TensorFormat[] BY_TYPE = new TensorFormat[GgmlType.values().length];

    static {
        for (TensorFormat f : new TensorFormat[] {
                new F32Format(), new F16Format(), new BF16Format(), new Q8_0Format(), new Q4_0Format(),
                new Q4_1Format(), new Q5_0Format(), new Q5_1Format(), new Q2_KFormat(), new Q3_KFormat(),
                new Q4_KFormat(), new Q5_KFormat(), new Q6_KFormat()}) {
            BY_TYPE[f.type.ordinal()] = f;
        }
    }

    public final GgmlType type;

    TensorFormat(GgmlType type) {
        this.type = type;
    }

    /** The format of {@code type}; fails with a clear message for types we have no kernels for. */
    public static TensorFormat of(GgmlType type) {
        TensorFormat f = BY_TYPE[type.ordinal()];
        if (f == null) throw new UnsupportedOperationException("no kernels for ggml type " + type + " (id " + type.id + ")");
        return f;
    }

    public static boolean isSupported(GgmlType type) {
        return BY_TYPE[type.ordinal()] != null;
    }

    /** Bytes of one row of {@code k} elements; fails when k is not a whole number of blocks. */
    public final long rowBytes(long k) {
        long bytes = type.rowBytes(k);
        if (bytes < 0) {
            throw new IllegalArgumentException("row length " + k + " is not a multiple of " + type + "'s block size " + type.blockSize);
        }
        return bytes;
    }

    /**
     * Scalar reference: dequantizes {@code k} elements that start at byte {@code offset} of {@code src} into
     * {@code dst[dstOffset..]}, with the same float operations in the same order as ggml's {@code to_float}.
     */
    public abstract void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k);

    /**
     * Vectorized decoder with results bit-identical to {@link #dequantizeRow}. The default is the scalar
     * reference; the types that matter for speed override it.
     */
    public void decodeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        dequantizeRow(src, offset, dst, dstOffset, k);
    }

    /**
     * The n = 1 matmul for rows [from, to): {@code y[yOffset + r] = W[r] . x[xOffset..]}. Types that decide
     * decoding speed override it with a kernel that decodes each block of four rows in registers and feeds
     * it straight into the FMAs, in the summation order of {@link Dot} (per output an accumulator for the
     * even chunks and one for the odd, chunks in increasing order, then even + odd), so the bits equal this
     * generic version's and the matmul stays batch-invariant.
     */
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        Matmul.tiled(w, x, xOffset, 1, y, yOffset, from, to, scratch);
    }

    /**
     * A fused matmul for n > 1 activation rows over weight rows [from, to), or false when this format has
     * none for this n and the caller takes the tiled path. Same summation order per output as the tiled
     * path (see {@link #matvecRows}), so the same bits.
     */
    boolean matmulRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                       KernelScratch scratch) {
        return false;
    }

    /**
     * A fused batch kernel's work on one weight row against four activation rows starting at x0..x3 (the
     * last repeated when the batch has fewer): each block decoded once, fed into four pairs of accumulators
     * in the n = 1 order; the four sums ({@link LaneSums#sumFourRows} of even + odd) left in {@code lanes[0..4)}.
     */
    interface FourRowKernel {
        void row(MemorySegment s, long row, int blocks, float[] x, int x0, int x1, int x2, int x3, float[] lanes);
    }

    /**
     * The driver of fused batch kernels for two to four activation rows; false for larger batches, which
     * take the tiled path (at n = 8 the fused form, as two passes or with eight accumulators, lost to its
     * four-by-four kernel in JMH). As with {@link #oneRowAtATime}, the kernel's vectors never cross the call.
     */
    final boolean upToFourRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                               KernelScratch scratch, FourRowKernel kernel) {
        if (n > 4) return false;
        int k = w.cols, m = w.rows, blocks = k / type.blockSize;
        int x1 = xOffset + Math.min(1, n - 1) * k, x2 = xOffset + Math.min(2, n - 1) * k, x3 = xOffset + (n - 1) * k;
        float[] lanes = scratch.lanes;
        for (int r = from; r < to; r++) {
            kernel.row(w.data, w.rowOffset(r), blocks, x, xOffset, x1, x2, x3, lanes);
            for (int i = 0; i < n; i++) y[yOffset + i * m + r] = lanes[i];
        }
        return true;
    }

    /** Batches up to this size take the fused kernels on 256-bit vectors ({@link #eightLaneBatch}); larger ones the tiled path. */
    static final int EIGHT_LANE_BATCH_UP_TO = 16;

    /**
     * The driver of fused batch kernels on 256-bit vectors (AVX2), for 2 to {@link #EIGHT_LANE_BATCH_UP_TO}
     * activation rows (false otherwise): each weight row against the activation rows four at a time, the
     * kernel leaving activation row i's even + odd accumulator in {@code lanes[8 i ..]}. The weight row is
     * read from memory once and from L1 for the further groups; with eight accumulators and a decoded chunk
     * the kernel fits AVX2's sixteen registers, where two weight rows at once would not.
     */
    final boolean eightLaneBatch(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                                 KernelScratch scratch, FourRowKernel kernel) {
        if (n < 2 || n > EIGHT_LANE_BATCH_UP_TO) return false;
        int k = w.cols, m = w.rows, blocks = k / type.blockSize;
        float[] lanes = scratch.lanes;
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            for (int j = 0; j < n; j += 4) {
                int group = Math.min(4, n - j), x0 = xOffset + j * k;
                kernel.row(w.data, row, blocks, x, x0, x0 + Math.min(1, group - 1) * k, x0 + Math.min(2, group - 1) * k,
                        x0 + (group - 1) * k, lanes);
                for (int i = 0; i < group; i++) y[yOffset + (j + i) * m + r] = LaneSums.of(lanes, 8 * i);
            }
        }
        return true;
    }

    /**
     * The end of an eight-lane kernel over weight rows r0 and r1 against two activation rows, whose even + odd
     * accumulators it left at {@code lanes[0, 8, 16, 24)} (r0 against rows 0 and 1, then r1): their lane sums
     * into y (rows of {@code m} outputs from {@code at}); {@code r1 < 0} when r0 has no partner.
     */
    static void sumTwoRowsTimesTwo(float[] lanes, float[] y, int at, int m, int r0, int r1) {
        y[at + r0] = LaneSums.of(lanes, 0);
        y[at + m + r0] = LaneSums.of(lanes, 8);
        if (r1 < 0) return;
        y[at + r1] = LaneSums.of(lanes, 16);
        y[at + m + r1] = LaneSums.of(lanes, 24);
    }

    /** A k-quant row's per-group scales (and mins), every super-block's, into {@code sc}: 16 floats per super-block. */
    interface RowScales {
        void of(MemorySegment s, long row, int blocks, float[] sc);
    }

    /**
     * A k-quant fused batch kernel's work on one weight row (its scales in {@code sc}) against four
     * activation rows starting at x0..x3: even + odd accumulator of row i left in {@code lanes[16 i ..]}.
     * The driver sums their lanes:
     * inside the kernel the sums made it too big for C2 to inline them, and the accumulators were boxed
     * (Q4_K at n = 4: 2.5x slower than the tiled path).
     */
    interface ScaledFourRowKernel {
        void row(MemorySegment s, long row, int blocks, float[] sc, float[] x, int x0, int x1, int x2, int x3, float[] lanes);
    }

    /**
     * The driver of the k-quants' fused batch kernels, for two to four activation rows (false otherwise: at
     * n = 8 the tiled path's four-by-four kernel is faster for every type measured). At n = 2 the fused
     * kernel repeats the second row into the idle slots and still beats the tiled path (JMH 5632x2048, Q4_K:
     * 500-640 against 390 calls/s on 1 thread, 600-900 against 440-500 on 2).
     */
    final boolean twoToFourScaledRows(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from,
                                      int to, KernelScratch scratch, RowScales scales, ScaledFourRowKernel kernel) {
        if (n < 2 || n > 4) return false;
        int k = w.cols, m = w.rows, blocks = k / type.blockSize;
        int x1 = xOffset + Math.min(1, n - 1) * k, x2 = xOffset + Math.min(2, n - 1) * k, x3 = xOffset + (n - 1) * k;
        float[] sc = scratch.scales(16 * blocks), lanes = scratch.lanes;
        for (int r = from; r < to; r++) {
            long row = w.rowOffset(r);
            scales.of(w.data, row, blocks, sc);
            kernel.row(w.data, row, blocks, sc, x, xOffset, x1, x2, x3, lanes);
            LaneSums.sumFourRows(lanes, 0, lanes, 64, 4);
            for (int i = 0; i < n; i++) y[yOffset + i * m + r] = lanes[64 + i];
        }
        return true;
    }

    /** A fused kernel's work on one row: every block into its two accumulators, even + odd left in {@code lanes[0..LANES)}. */
    interface RowKernel {
        void row(MemorySegment s, long row, int blocks, float[] x, int xOffset, float[] lanes);
    }

    /**
     * The driver of fused kernels that take one row at a time: the row's accumulator, then its lane sum.
     * The kernel keeps its vectors to itself (only the stored lanes cross the call), so they are not boxed.
     */
    final void oneRowAtATime(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to,
                             KernelScratch scratch, RowKernel kernel) {
        int blocks = w.cols / type.blockSize;
        for (int r = from; r < to; r++) {
            kernel.row(w.data, w.rowOffset(r), blocks, x, xOffset, scratch.lanes);
            finishRows(scratch.lanes, y, yOffset + r, 1);
        }
    }

    /**
     * The end of a four-row kernel over a float type ({@link F32Format}, {@link F16Format}, {@link BF16Format})
     * whose rows r..r+rows-1 left their even + odd accumulators at {@code lanes[i * LANES]}: each row's lane
     * sum, then its {@code k mod LANES} tail (decoded by the scalar reference to {@code lanes[4 * LANES..]})
     * added one product at a time, as {@link Dot} orders them.
     */
    final void finishFourFloatRows(WeightMatrix w, float[] x, int xOffset, float[] y, int at, int r, int rows,
                                   float[] lanes) {
        int k = w.cols, whole = k - k % LANES;
        if (whole == k) {
            finishRows(lanes, y, at, rows);
            return;
        }
        finishRows(lanes, lanes, 0, 4);
        for (int i = 0; i < rows; i++) {
            dequantizeRow(w.data, w.rowOffset(r + i) + rowBytes(whole), lanes, 4 * LANES, k - whole);
            y[at + i] = Dot.addTail(lanes[i], lanes, 4 * LANES, x, xOffset + whole, k - whole);
        }
    }

    /**
     * A 16-bit float type's batch kernel: weight row r against four activation rows read from {@code source} at
     * a0 .. a3 (repeated where fewer), each one's even + odd accumulator left at {@code lanes[i * LANES]}.
     */
    interface FloatRowTimesFour {
        void row(WeightMatrix w, float[] source, int r, int a0, int a1, int a2, int a3, float[] lanes);
    }

    /** {@link FloatRowTimesFour} for two activation rows (a1 may equal a0). */
    interface FloatRowTimesTwo {
        void row(WeightMatrix w, float[] source, int r, int a0, int a1, float[] lanes);
    }

    /**
     * Weight row r against all n activation rows, four at a time through {@code four}, a remainder of one or two
     * through {@code two}; both read activation row j at {@code source[sourceOffset + j * stride ..]} (x itself,
     * or a scaled copy). Each output finished by {@link #finishFloatRow} against x.
     */
    final void rowInFours(WeightMatrix w, float[] source, int sourceOffset, int stride, float[] x, int xOffset, int n,
                          float[] y, int yOffset, int r, float[] lanes, FloatRowTimesFour four, FloatRowTimesTwo two) {
        int k = w.cols, m = w.rows;
        for (int j = 0; j < n; j += 4) {
            int group = Math.min(4, n - j), a0 = sourceOffset + j * stride;
            if (group <= 2) two.row(w, source, r, a0, a0 + (group - 1) * stride, lanes);
            else four.row(w, source, r, a0, a0 + stride, a0 + 2 * stride, a0 + (group - 1) * stride, lanes);
            for (int i = 0; i < group; i++) {
                y[yOffset + (j + i) * m + r] = finishFloatRow(w, x, xOffset + (j + i) * k, r, lanes, i * LANES);
            }
        }
    }

    /**
     * The end of a fused float kernel's row r: its even + odd accumulator (stored at {@code lanes[at]}) summed,
     * then the products of the columns past the whole chunks, in {@link Dot}'s order.
     */
    final float finishFloatRow(WeightMatrix w, float[] x, int xOffset, int r, float[] lanes, int at) {
        float sum = LaneSums.of(lanes, at);
        int k = w.cols, whole = k - k % LANES;
        if (whole == k) return sum;
        dequantizeRow(w.data, w.rowOffset(r) + rowBytes(whole), lanes, 4 * LANES, k - whole);
        return Dot.addTail(sum, lanes, 4 * LANES, x, xOffset + whole, k - whole);
    }

    /**
     * The end of a fused kernel's group of up to four rows: each valid row's even + odd accumulator (stored at
     * {@code lanes[i * LANES]}) summed ({@link LaneSums}). Quantized rows have no tail (k is whole blocks).
     */
    static void finishRows(float[] lanes, float[] y, int at, int rows) {
        if (LaneSums.FOUR_ROWS) { // (slots past `rows` hold stale lanes; their sums are not stored)
            LaneSums.sumFourRows(lanes, 0, y, at, rows);
            return;
        }
        for (int i = 0; i < rows; i++) y[at + i] = LaneSums.of(lanes, i * Lanes.LANES);
    }

    /**
     * This type's kernels for {@link MatmulActivations#INT8} activations, or null when it has none and takes
     * the f32 path in that mode too.
     */
    Int8Matmul.Kernels int8Kernels() {
        return null;
    }

    /** Whether {@link #quantizeRow} is implemented for this type. */
    public boolean canQuantize() {
        return false;
    }

    /**
     * Scalar quantizer: writes the ggml encoding of {@code src[srcOffset..srcOffset+k)} at byte {@code offset}
     * of {@code dst}, byte for byte what ggml's {@code quantize_row_*_ref} writes (llama-quantize without an
     * importance matrix).
     */
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        throw new UnsupportedOperationException("no quantizer for " + type);
    }

    final void checkWholeBlocks(int k) {
        if (k % type.blockSize != 0) {
            throw new IllegalArgumentException("row length " + k + " is not a multiple of " + type + "'s block size " + type.blockSize);
        }
    }

    /** ggml's fp16 scale fields: IEEE binary16, little-endian. */
    static float fp16(MemorySegment s, long offset) {
        return Float.float16ToFloat(s.get(LE_SHORT, offset));
    }

    static void putFp16(MemorySegment s, long offset, float v) {
        s.set(LE_SHORT, offset, Float.floatToFloat16(v));
    }

    static int u8(MemorySegment s, long offset) {
        return s.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
    }

    static void putU8(MemorySegment s, long offset, int v) {
        s.set(ValueLayout.JAVA_BYTE, offset, (byte) v);
    }

    /** C's {@code roundf}: halves go away from zero (Math.round would send -2.5 to -2). */
    static float roundHalfAway(float v) {
        return (float) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }

    /** ggml's {@code nearest_int}: round half to even, for |v| below 2^22. */
    static int nearestInt(float v) {
        return (int) Math.rint(v);
    }
}
