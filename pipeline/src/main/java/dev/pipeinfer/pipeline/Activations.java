package dev.pipeinfer.pipeline;

/**
 * A [rows x width] f32 activation matrix in a pooled buffer. Whoever holds the Run message that carries
 * it owns it, and gives it back with {@link #release()} when done (a stage after computing, a TCP link
 * after encoding it); the backing array is then reused for a later run.
 */
public final class Activations {
    private final ActivationPool pool;
    private final float[] data;
    private int rows;
    private int width;
    private boolean released;

    Activations(ActivationPool pool, float[] data) {
        this.pool = pool;
        this.data = data;
    }

    void reset(int rows, int width) {
        this.rows = rows;
        this.width = width;
        this.released = false;
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

    int capacity() {
        return data.length;
    }

    /** Returns the buffer to its pool; idempotent, and the matrix must not be touched afterwards. */
    public void release() {
        if (released) return;
        released = true;
        if (pool != null) pool.giveBack(this);
    }

    private void checkLive() {
        if (released) throw new IllegalStateException("activations used after release");
    }

    @Override
    public String toString() {
        return "Activations[" + rows + " x " + width + "]";
    }
}
