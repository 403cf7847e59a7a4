package dev.pipeinfer.pipeline;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A link between two stages of one process: a bounded queue, so a fast producer is held back by a
 * slow consumer instead of piling up activations. Messages (and their activation buffers) are handed
 * over, not copied.
 */
public final class InMemoryLink implements Link {
    /** Marks the end of the stream in the queue, behind the messages sent before close. */
    private static final Message END = new Message.Shutdown();

    private final LinkedBlockingQueue<Message> queue = new LinkedBlockingQueue<>();
    private final Semaphore space;
    private final String name;
    private final AtomicLong bytes = new AtomicLong();
    private volatile boolean closed;
    private volatile String closeReason = "closed";

    public InMemoryLink(String name, int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("link capacity " + capacity);
        this.name = name;
        this.space = new Semaphore(capacity);
    }

    @Override
    public void send(Message message) throws InterruptedException {
        while (!space.tryAcquire(50, TimeUnit.MILLISECONDS)) {
            checkOpen();
        }
        if (closed) {
            space.release();
            checkOpen();
        }
        bytes.addAndGet(message.nominalBytes());
        queue.add(message);
    }

    private void checkOpen() {
        if (closed) throw new LinkClosedException("link " + describe() + " is closed: " + closeReason);
    }

    @Override
    public Message receive() throws InterruptedException {
        return unwrap(queue.take());
    }

    @Override
    public Message poll(long timeout, TimeUnit unit) throws InterruptedException {
        Message m = queue.poll(timeout, unit);
        return m == null ? null : unwrap(m);
    }

    private Message unwrap(Message m) {
        if (m == END) {
            queue.add(END); // later receivers see the end too
            throw new LinkClosedException("link " + describe() + " is closed: " + closeReason);
        }
        space.release();
        return m;
    }

    @Override
    public void close() {
        close("closed");
    }

    /** Closes with a reason that receivers will see after the messages already queued. */
    public synchronized void close(String reason) {
        if (closed) return;
        closeReason = reason;
        closed = true;
        queue.add(END);
    }

    @Override
    public String describe() {
        return "in-memory " + name;
    }

    @Override
    public long bytesSent() {
        return bytes.get();
    }

    @Override
    public long bytesReceived() {
        return bytes.get();
    }
}
