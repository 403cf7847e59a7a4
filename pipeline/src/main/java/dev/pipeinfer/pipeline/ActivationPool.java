package dev.pipeinfer.pipeline;

import java.util.ArrayDeque;

/**
 * A small pool of activation buffers, so that a stage in steady state (the same few batch shapes over
 * and over) allocates nothing per run. It keeps at most {@code maxRetained} idle buffers; a request
 * takes the smallest idle buffer that is large enough, else allocates a new one.
 */
public final class ActivationPool {
    private final int maxRetained;
    private final ArrayDeque<Activations> idle = new ArrayDeque<>();
    private long allocations;

    public ActivationPool(int maxRetained) {
        this.maxRetained = maxRetained;
    }

    public ActivationPool() {
        this(8);
    }

    /** A buffer holding a [rows x width] matrix; its values are unspecified. */
    public synchronized Activations acquire(int rows, int width) {
        if (rows <= 0 || width <= 0 || (long) rows * width > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("activation shape " + rows + " x " + width);
        }
        int needed = rows * width;
        Activations best = null;
        for (Activations a : idle) {
            if (a.capacity() >= needed && (best == null || a.capacity() < best.capacity())) best = a;
        }
        if (best != null) {
            idle.remove(best);
        } else {
            best = new Activations(this, new float[needed]);
            allocations++;
        }
        best.reset(rows, width);
        return best;
    }

    synchronized void giveBack(Activations a) {
        if (idle.size() >= maxRetained) {
            // Drop the smallest: large buffers are the expensive ones to allocate again.
            Activations smallest = a;
            for (Activations b : idle) if (b.capacity() < smallest.capacity()) smallest = b;
            if (smallest == a) return;
            idle.remove(smallest);
        }
        idle.add(a);
    }

    /** How many buffers were ever allocated: stays flat once the pool has warmed up. */
    public synchronized long allocations() {
        return allocations;
    }
}
