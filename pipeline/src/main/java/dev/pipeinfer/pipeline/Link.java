package dev.pipeinfer.pipeline;

import java.util.concurrent.TimeUnit;

/**
 * One ordered, one-way stream of messages between two pipeline nodes (DESIGN section 3: "ordered per
 * link"). Implementations: {@link InMemoryLink} between stages in one process, and the TCP link of
 * module {@code net}. Sending a {@link Run} hands its activation buffer over to the link.
 */
public interface Link extends AutoCloseable {

    /** Sends in order; blocks while the link is full. Throws {@link LinkClosedException} if it has ended. */
    void send(Message message) throws InterruptedException;

    /** The next message in order; blocks until one arrives. Throws {@link LinkClosedException} when the link ends. */
    Message receive() throws InterruptedException;

    /** Like {@link #receive()} but gives up after the timeout and returns null. */
    Message poll(long timeout, TimeUnit unit) throws InterruptedException;

    /** Ends the link; a receiver gets {@link LinkClosedException} after the messages already queued. */
    @Override
    void close();

    /** Where this link goes, for error messages: "in-memory 1->2", "tcp 10.0.0.2:7070". */
    String describe();

    long bytesSent();

    long bytesReceived();
}
