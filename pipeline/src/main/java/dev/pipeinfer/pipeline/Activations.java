package dev.pipeinfer.pipeline;

/**
 * A [rows x width] f32 activation matrix in a pooled buffer. Whoever holds the Run message that carries
 * it owns it, and gives it back with {@link #release()} when done (a stage after computing, a TCP link
 * after encoding it); the backing array is then reused for a later run.
 */
public final class Activations {
    private final ActivationPool pool;
    private final float[] data;
    private final int rows;
    private final int width;
    private volatile boolean released;

    Activations(ActivationPool pool, float[] data, int rows, int width) {
        this.pool = pool;
        this.data = data;
        this.rows = rows;
        this.width = width;
    }

    /** An unpooled matrix over an existing array (tests, one-off callers). */
    public static Activations wrap(float[] data, int rows, int width) {
        if ((long) rows * width > data.length) throw new IllegalArgumentException("array too small for " + rows + " x " + width);
        return new Activations(null, data, rows, width);
    }

    /** Backing array; only the first {@link #length()} values belong to this matrix. */
    public float[] data() {
        checkLive();
        return data;
    }

    public int rows() {
        return rows;
    }

    public int width() {
        return width;
    }

    public int length() {
        return rows * width;
    }

    /** Returns the buffer to its pool; idempotent, and the matrix must not be touched afterwards. */
    public void release() {
        if (released) return;
        released = true;
        if (pool != null) pool.giveBack(data);
    }

    private void checkLive() {
        if (released) throw new IllegalStateException("activations used after release");
    }

    @Override
    public String toString() {
        return "Activations[" + rows + " x " + width + "]";
    }
}
