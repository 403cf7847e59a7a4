package dev.pipeinfer.pipeline;

/** A link ended: closed by either side, or broken (the message says which and why). */
public class LinkClosedException extends RuntimeException {
    public LinkClosedException(String message) {
        super(message);
    }

    public LinkClosedException(String message, Throwable cause) {
        super(message, cause);
    }
}
