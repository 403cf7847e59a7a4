package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;

/**
 * {@code Y = X W^T}: for a weight matrix W [m x k] of any supported type and activations X [n x k] (f32,
 * row-major), Y [n x m] (row-major), i.e. {@code y[j][r] = W[r] . x[j]}. This is ggml's
 * {@code mul_mat(W, X)}.
 *
 * <p><b>F32 activations</b> (the default): weights are decoded (with the type's vectorized decoder,
 * bit-identical to its reference dequantizer) four rows at a time, one tile of {@link #TILE} columns at a
 * time, into a per-thread buffer that stays in L1, and multiplied there with the matching tile of every row
 * of X by the register-blocked kernels of {@link Dot}. A batch of n rows therefore reads each weight from
 * memory once, and four weight rows share every activation load. Results track the float64 reference
 * ({@code mmexact}) to float32 summation error.
 *
 * <p><b>INT8 activations</b> ({@link MatmulActivations#INT8}), for Q8_0 and Q4_0 weights: X is quantized
 * once per call ({@link Int8Activations}, before the threads start) and {@link Int8Matmul} sums integer
 * products as llama.cpp does, following its result ({@code mm}).
 *
 * <p>For n = 1 the types that decide decoding speed have fused kernels ({@link TensorFormat#matvecRows})
 * that decode each block in registers (for one, two or four rows at a time) and feed it straight into the
 * FMAs.
 *
 * <p><b>Batch invariance.</b> Row j of Y is bit-identical whatever n is, wherever that row sits in X and
 * however many threads run: an output element is computed by one thread, by the same operations in the
 * same order (the order is spelled out in {@link Dot}; fused kernels follow it too), and rows are split
 * over threads without splitting any dot product.
 *
 * <p>{@link #matmulScalar} is the plain reference (scalar dequantizer, double accumulation).
 */
public final class Matmul {
    /**
     * {@code -Dpipeinfer.matmul.generic=true} turns the fused kernels off (every n then decodes tiles into
     * the scratch buffer); for measuring one against the other. Both give the same bits, except for Q3_K, Q4_K,
     * Q5_K and Q6_K on 256-bit vectors, whose kernels sum in orders of their own ({@link FactoredKernels},
     * {@link QuarterScaledKernels}).
     */
    static final boolean FUSED = !Boolean.getBoolean("pipeinfer.matmul.generic");

    /**
     * Columns per decoded tile: a multiple of every block size (256 for the k-quants) and of LANES; four
     * rows of it (8 KiB) plus the matching activations of a four-row group (8 KiB) stay in L1.
     */
    static final int TILE = 512;

    private Matmul() {}

    public static void matmul(WeightMatrix w, float[] x, int n, float[] y, ComputePool pool) {
        matmul(w, x, 0, n, y, 0, pool);
    }

    /** x holds n rows of w.cols floats from xOffset; y receives n rows of w.rows floats from yOffset. */
    public static void matmul(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, ComputePool pool) {
        matmul(w, x, xOffset, n, y, yOffset, pool, MatmulActivations.F32);
    }

    /** {@link #matmul}, the activations taken as {@code activations} says. */
    public static void matmul(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, ComputePool pool,
                              MatmulActivations activations) {
        checkShapes(w, x, xOffset, n, y, yOffset);
        if (n == 0 || w.rows == 0) return;
        Job job = pool.matmulJob;
        synchronized (job) {
            job.set(w, x, xOffset, n, y, yOffset);
            Int8Matmul.Kernels int8 = activations == MatmulActivations.INT8 ? w.format.int8Kernels() : null;
            if (int8 != null) job.quantize(int8);
            try {
                pool.run(w.rows, Dot.ROWS, job);
            } finally {
                job.clear();
            }
        }
    }

    /**
     * Scalar reference of the {@link MatmulActivations#INT8} matmul, for the types that have one (otherwise
     * an IllegalArgumentException): x quantized ({@link Int8Activations}), integer block sums scaled in float.
     */
    public static void matmulInt8Scalar(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset) {
        checkShapes(w, x, xOffset, n, y, yOffset);
        Int8Matmul.Kernels kernels = w.format.int8Kernels();
        if (kernels == null) throw new IllegalArgumentException(w.type + " has no int8-activation kernels");
        Int8Activations q = new Int8Activations();
        q.quantizeScalar(x, xOffset, n, w.cols);
        Int8Matmul.rowsScalar(kernels, w, q, n, y, yOffset, 0, w.rows);
    }

    /** Scalar reference: dequantizes each row with the type's reference dequantizer, accumulates in double. */
    public static void matmulScalar(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset) {
        checkShapes(w, x, xOffset, n, y, yOffset);
        int k = w.cols, m = w.rows;
        float[] row = new float[k];
        for (int r = 0; r < m; r++) {
            w.format.dequantizeRow(w.data, w.rowOffset(r), row, 0, k);
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int i = 0; i < k; i++) s += (double) row[i] * x[xOffset + j * k + i];
                y[yOffset + j * m + r] = (float) s;
            }
        }
    }

    /** get_rows: row {@code row} of w, dequantized exactly (ggml's to_float), into dst[dstOffset..+cols). */
    public static void getRow(WeightMatrix w, int row, float[] dst, int dstOffset) {
        if (row < 0 || row >= w.rows) throw new IndexOutOfBoundsException("row " + row + " of " + w);
        w.format.decodeRow(w.data, w.rowOffset(row), dst, dstOffset, w.cols);
    }

    private static void checkShapes(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset) {
        if (n < 0) throw new IllegalArgumentException("n must be >= 0, got " + n);
        if (xOffset < 0 || (long) xOffset + (long) n * w.cols > x.length) {
            throw new IllegalArgumentException("x has " + x.length + " floats; need " + n + " rows of " + w.cols + " from " + xOffset);
        }
        if (yOffset < 0 || (long) yOffset + (long) n * w.rows > y.length) {
            throw new IllegalArgumentException("y has " + y.length + " floats; need " + n + " rows of " + w.rows + " from " + yOffset);
        }
    }

    /** The reusable per-pool job: rows [from, to) of one matmul on one thread. */
    static final class Job implements ComputePool.RangeJob {
        private final ComputePool pool;
        private WeightMatrix w;
        private float[] x, y;
        private int xOffset, n, yOffset;
        /** Set when this matmul runs on int8 activations: the type's kernels, and x quantized. */
        private Int8Matmul.Kernels int8;
        private final Int8Activations quantized = new Int8Activations();

        Job(ComputePool pool) {
            this.pool = pool;
        }

        void set(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset) {
            this.w = w;
            this.x = x;
            this.xOffset = xOffset;
            this.n = n;
            this.y = y;
            this.yOffset = yOffset;
        }

        /** Quantizes x once for all threads; the matmul then takes {@code kernels}. */
        void quantize(Int8Matmul.Kernels kernels) {
            quantized.quantize(x, xOffset, n, w.cols);
            int8 = kernels;
        }

        void clear() {
            int8 = null;
            w = null;
            x = y = null;
        }

        @Override
        public void run(int worker, int from, int to) {
            KernelScratch scratch = pool.scratch[worker];
            if (int8 != null) {
                if (Int8Matmul.VECTORS) Int8Matmul.rows(int8, w, quantized, n, y, yOffset, from, to, scratch);
                else Int8Matmul.rowsScalar(int8, w, quantized, n, y, yOffset, from, to);
            } else if (n == 1 && FUSED) {
                w.format.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            } else if (!FUSED || !w.format.matmulRows(w, x, xOffset, n, y, yOffset, from, to, scratch)) {
                tiled(w, x, xOffset, n, y, yOffset, from, to, scratch);
            }
        }
    }

    /**
     * The generic path, any type and any n: weight rows [from, to) (columns of Y), four at a time (the last
     * group repeats its last row so the kernels always see four; those results are dropped).
     */
    static void tiled(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, int from, int to,
                      KernelScratch scratch) {
        float[] tile = scratch.tile, acc = scratch.accumulators(n);
        int k = w.cols, m = w.rows;
        int lanes = Lanes.LANES;
        int whole = k - k % lanes;
        int lastTile = (k - 1) / TILE * TILE;
        TensorFormat format = w.format;
        long tileBytes = w.type.rowBytes(TILE);
        for (int r0 = from; r0 < to; r0 += Dot.ROWS) {
            int rowsHere = Math.min(Dot.ROWS, to - r0);
            for (int t0 = 0; t0 < k; t0 += TILE) {
                int len = Math.min(TILE, k - t0);
                long skip = t0 / TILE * tileBytes;
                for (int i = 0; i < Dot.ROWS; i++) {
                    int r = r0 + Math.min(i, rowsHere - 1);
                    format.decodeRow(w.data, w.rowOffset(r) + skip, tile, i * TILE, len);
                }
                int chunks = (Math.min(t0 + len, whole) - t0) / lanes;
                boolean first = t0 == 0;
                int xt = xOffset + t0;
                int j = 0;
                for (; j + 4 <= n; j += 4) Dot.rows4x4(tile, TILE, chunks, x, xt + j * k, k, acc, j * Dot.SLOTS, first);
                for (; j + 2 <= n; j += 2) Dot.rows4x2(tile, TILE, chunks, x, xt + j * k, k, acc, j * Dot.SLOTS, first);
                if (j < n) Dot.rows4x1(tile, TILE, chunks, x, xt + j * k, acc, j * Dot.SLOTS, first);
            }
            float[] combined = scratch.lanes;
            for (int j = 0; j < n; j++) {
                Dot.combine(acc, j * Dot.SLOTS, combined, 0);
                if (LaneSums.FOUR_ROWS) {
                    if (whole == k) {
                        LaneSums.sumFourRows(combined, 0, y, yOffset + j * m + r0, rowsHere);
                        continue;
                    }
                    LaneSums.sumFourRows(combined, 0, combined, 64, 4);
                    for (int i = 0; i < rowsHere; i++) {
                        y[yOffset + j * m + r0 + i] = Dot.addTail(combined[64 + i], tile, i * TILE + whole - lastTile,
                                x, xOffset + j * k + whole, k - whole);
                    }
                    continue;
                }
                for (int i = 0; i < rowsHere; i++) {
                    y[yOffset + j * m + r0 + i] = Dot.finish(combined, i * lanes, tile, i * TILE + whole - lastTile,
                            x, xOffset + j * k + whole, k - whole);
                }
            }
        }
    }
}
