package dev.pipeinfer.transformer.kv;

/** A batch needs more free cells than the KV cache has left. Nothing was allocated. */
public final class KvCacheFullException extends RuntimeException {
    private final int needed;
    private final int free;
    private final int capacity;

    public KvCacheFullException(int needed, int free, int capacity) {
        super("KV cache full: the batch needs " + needed + " cells but only " + free + " of " + capacity
                + " are free (raise the context size, or remove finished sequences)");
        this.needed = needed;
        this.free = free;
        this.capacity = capacity;
    }

    public int needed() {
        return needed;
    }

    public int free() {
        return free;
    }

    public int capacity() {
        return capacity;
    }
}
