package dev.pipeinfer.pipeline;

import java.util.ArrayDeque;

/**
 * A small pool of activation arrays, so that a stage in steady state (the same few batch shapes over
 * and over) allocates no large arrays per run. It keeps at most {@code maxRetained} idle arrays;
 * capacities are rounded up to a power of two so that nearby shapes share arrays. Each acquire hands
 * out a fresh small {@link Activations} handle, so a stale handle kept after release is caught
 * rather than silently aliasing the next user's data.
 */
public final class ActivationPool {
    private final int maxRetained;
    private final ArrayDeque<float[]> idle = new ArrayDeque<>();
    private long allocations;

    public ActivationPool(int maxRetained) {
        this.maxRetained = maxRetained;
    }

    public ActivationPool() {
        this(8);
    }

    /** A buffer holding a [rows x width] matrix; its values are unspecified. */
    public synchronized Activations acquire(int rows, int width) {
        if (rows <= 0 || width <= 0 || (long) rows * width > 1 << 30) {
            throw new IllegalArgumentException("activation shape " + rows + " x " + width);
        }
        int needed = rows * width;
        float[] best = null;
        for (float[] a : idle) {
            if (a.length >= needed && (best == null || a.length < best.length)) best = a;
        }
        if (best != null) {
            idle.remove(best);
        } else {
            best = new float[Math.max(64, Integer.highestOneBit(needed - 1) << 1)];
            allocations++;
        }
        return new Activations(this, best, rows, width);
    }

    synchronized void giveBack(float[] array) {
        if (idle.size() >= maxRetained) {
            // Drop the smallest: large arrays are the expensive ones to allocate again.
            float[] smallest = array;
            for (float[] b : idle) if (b.length < smallest.length) smallest = b;
            if (smallest == array) return;
            idle.remove(smallest);
        }
        idle.add(array);
    }

    /** How many arrays were ever allocated: stays flat once the pool has warmed up. */
    public synchronized long allocations() {
        return allocations;
    }
}
