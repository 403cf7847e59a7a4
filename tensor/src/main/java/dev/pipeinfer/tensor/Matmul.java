package dev.pipeinfer.tensor;

/**
 * {@code Y = X W^T}: for a weight matrix W [m x k] of any supported type and activations X [n x k] (f32,
 * row-major), Y [n x m] (row-major), i.e. {@code y[j][r] = W[r] . x[j]}. This is ggml's
 * {@code mul_mat(W, X)}.
 *
 * <p><b>Activations stay f32.</b> Each weight row is decoded once into a per-thread float buffer (with the
 * type's vectorized decoder, bit-identical to its reference dequantizer) and then dotted with every row of
 * X while it is hot in L1, so a batch of n rows reads the weights from memory once. Results therefore
 * track the float64 reference ({@code mmexact}) to float32 summation error rather than llama.cpp's
 * int8-activation result ({@code mm}).
 *
 * <p><b>Batch invariance.</b> Row j of Y is bit-identical whatever n is, wherever that row sits in X and
 * however many threads run: an output element is computed by one thread, by the same operations in the
 * same order (see {@link Dot}), and rows are split over threads without splitting any dot product.
 *
 * <p>{@link #matmulScalar} is the plain reference (scalar dequantizer, double accumulation).
 */
public final class Matmul {
    /**
     * {@code -Dpipeinfer.matmul.generic=true} turns the fused n = 1 kernels off (every n then decodes rows into
     * the scratch buffer); for measuring one against the other. Both give the same bits.
     */
    static final boolean FUSED = !Boolean.getBoolean("pipeinfer.matmul.generic");

    private Matmul() {}

    public static void matmul(WeightMatrix w, float[] x, int n, float[] y, ComputePool pool) {
        matmul(w, x, 0, n, y, 0, pool);
    }

    /** x holds n rows of w.cols floats from xOffset; y receives n rows of w.rows floats from yOffset. */
    public static void matmul(WeightMatrix w, float[] x, int xOffset, int n, float[] y, int yOffset, ComputePool pool) {
        checkShapes(w, x, xOffset, n, y, yOffset);
        if (n == 0 || w.rows == 0) return;
        Job job = pool.matmulJob;
        synchronized (job) {
            job.set(w, x, xOffset, n, y, yOffset);
            try {
                pool.run(w.rows, 1, job);
            } finally {
                job.clear();
            }
        }
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

        void clear() {
            w = null;
            x = y = null;
        }

        @Override
        public void run(int worker, int from, int to) {
            WeightMatrix w = this.w;
            int k = w.cols, m = w.rows;
            float[] row = pool.rowScratch(worker, k);
            float[] lanes = pool.laneScratch[worker];
            TensorFormat format = w.format;
            if (n == 1 && FUSED) {
                format.matvecRows(w, x, xOffset, y, yOffset, from, to, row, lanes);
                return;
            }
            for (int r = from; r < to; r++) {
                format.decodeRow(w.data, w.rowOffset(r), row, 0, k);
                Dot.rows(row, k, x, xOffset, n, y, yOffset + r, m, lanes);
            }
        }
    }
}
