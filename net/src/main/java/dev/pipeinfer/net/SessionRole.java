package dev.pipeinfer.net;

/** What a connection to a worker is for. */
public enum SessionRole {
    /** From the head: control messages, the slice to serve, and (for the last stage) the results back. */
    SESSION,
    /** From the previous node in the ring: the ordered stream of runs and KV edits into this stage. */
    DATA
}
