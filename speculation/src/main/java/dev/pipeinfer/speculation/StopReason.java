package dev.pipeinfer.speculation;

/** Why generation ended. */
public enum StopReason {
    /** The requested number of tokens was generated. */
    LENGTH,
    /** The model produced an end-of-generation token (it is not part of the text). */
    END_OF_GENERATION,
    /** The KV cache (context) is full. */
    CONTEXT_FULL
}
