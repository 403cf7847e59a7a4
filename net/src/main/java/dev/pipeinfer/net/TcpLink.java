package dev.pipeinfer.net;

import dev.pipeinfer.pipeline.InMemoryLink;
import dev.pipeinfer.pipeline.Link;
import dev.pipeinfer.pipeline.LinkClosedException;
import dev.pipeinfer.pipeline.Message;

import java.io.EOFException;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A {@link Link} over TCP. Both directions are decoupled from the stage thread by small bounded
 * queues: a writer thread takes messages from an outbox and encodes them onto the sending connection,
 * and a reader thread decodes frames from the receiving connection into an inbox. So a stage computes
 * its next run while the previous one's activations are still on the wire (DESIGN section 1: the
 * pipeline should tolerate slow interconnects), and full queues hold producers back through TCP flow
 * control. A write that fails ends the link: the next {@link #send} throws with the reason.
 *
 * <p>The receiving side may be attached later (a worker's stage starts before its upstream connects).
 */
public final class TcpLink implements Link {
    /** How long {@link #close} lets the writer finish what is queued before cutting the connection. */
    private static final long DRAIN_MILLIS = 1000;

    private final String name;
    private final InMemoryLink inbox;
    private final InMemoryLink outbox;
    private final TcpConnection sender;
    private volatile TcpConnection receiver;
    private final boolean ownsSender;
    private final Thread writer;
    private volatile String writeFailure;
    private volatile Consumer<String> onWriteFailure = reason -> { };

    /**
     * @param capacity   messages each queue (inbox, outbox) holds before the producer waits
     * @param sender     the connection to send on, or null for a receive-only link
     * @param ownsSender whether closing the link closes the sending connection (false when the
     *                   connection is a session shared with control traffic)
     */
    public TcpLink(String name, int capacity, TcpConnection sender, boolean ownsSender) {
        this.name = name;
        this.inbox = new InMemoryLink(name, capacity);
        this.outbox = new InMemoryLink(name + " outbox", capacity);
        this.sender = sender;
        this.ownsSender = ownsSender;
        this.writer = sender == null ? null : Thread.ofVirtual().name("tcp-write " + sender.peer()).start(this::write);
    }

    private void write() {
        try {
            while (true) {
                Message m = outbox.receive();
                try {
                    sender.send(m);
                } catch (IOException | RuntimeException e) {
                    writeFailure = e instanceof IOException ? "broken: " + e.getMessage()
                            : "cannot send " + m + ": " + e.getMessage();
                    outbox.close(writeFailure);
                    releaseQueued();
                    // Tell someone now: the stage may have nothing more to send for a long time.
                    onWriteFailure.accept("link " + describe() + " " + writeFailure);
                    return;
                }
            }
        } catch (InterruptedException | LinkClosedException e) {
            // closed: everything queued before the close has been written
        } finally {
            if (ownsSender) sender.close();
        }
    }

    /** Who hears at once when a write fails (the message that failed is lost, so the pipeline must end). */
    public void onWriteFailure(Consumer<String> listener) {
        this.onWriteFailure = listener;
    }

    private void releaseQueued() {
        try {
            Message m;
            while ((m = outbox.poll(0, TimeUnit.MILLISECONDS)) != null) {
                if (m instanceof dev.pipeinfer.pipeline.Run run) run.release();
            }
        } catch (InterruptedException | LinkClosedException ignored) {
            // drained
        }
    }

    /** Start of the end reason when the peer closed the connection in order (as at the end of a session). */
    static final String PEER_CLOSED = "connection closed by ";

    /**
     * Starts reading messages from {@code connection} into this link's inbox. Messages for which
     * {@code control} returns true are consumed by it instead (control replies sharing the connection).
     * When the connection ends, the inbox ends with the reason.
     */
    public void attachReceiver(TcpConnection connection, Predicate<Message> control) {
        attachReceiver(connection, control, reason -> { });
    }

    /** As above; {@code onEnd} is told why the connection ended. */
    public void attachReceiver(TcpConnection connection, Predicate<Message> control, Consumer<String> onEnd) {
        this.receiver = connection;
        Thread.ofVirtual().name("tcp-read " + connection.peer()).start(() -> {
            String reason;
            try {
                while (true) {
                    Message m = connection.receive();
                    if (!control.test(m)) inbox.send(m);
                }
            } catch (EOFException e) {
                reason = PEER_CLOSED + connection.peer();
            } catch (ProtocolException e) {
                reason = "protocol error from " + connection.peer() + ": " + e.getMessage();
                connection.close();
            } catch (IOException e) {
                reason = connection.isClosed() ? "connection closed" : "connection to " + connection.peer() + " broken: " + e.getMessage();
            } catch (InterruptedException | LinkClosedException e) {
                reason = "link closed";
            } catch (RuntimeException e) {
                reason = "internal error reading from " + connection.peer() + ": " + e;
                connection.close();
            }
            onEnd.accept(reason);
            inbox.close(reason);
        });
    }

    @Override
    public void send(Message message) throws InterruptedException {
        if (sender == null) throw new LinkClosedException("link " + name + " has no connection to send on");
        String failed = writeFailure;
        if (failed != null) throw new LinkClosedException("link " + describe() + " " + failed);
        try {
            outbox.send(message);
        } catch (LinkClosedException e) {
            failed = writeFailure;
            throw new LinkClosedException("link " + describe() + " " + (failed != null ? failed : "is closed"), e);
        }
    }

    @Override
    public Message receive() throws InterruptedException {
        return inbox.receive();
    }

    @Override
    public Message poll(long timeout, TimeUnit unit) throws InterruptedException {
        return inbox.poll(timeout, unit);
    }

    /**
     * Ends the link: the writer sends what is queued (waiting at most a second for a slow peer) and
     * closes the sending connection if it owns it; the receiving connection is closed.
     */
    @Override
    public void close() {
        inbox.close("closed");
        outbox.close("closed");
        if (writer != null) {
            try {
                if (!writer.join(java.time.Duration.ofMillis(DRAIN_MILLIS)) && ownsSender) sender.close();
            } catch (InterruptedException e) {
                if (ownsSender) sender.close();
                Thread.currentThread().interrupt();
            }
        }
        TcpConnection r = receiver;
        if (r != null && r != sender) r.close();
    }

    @Override
    public String describe() {
        TcpConnection c = sender != null ? sender : receiver;
        return "tcp " + name + (c != null ? " (" + c.peer() + ")" : "");
    }

    @Override
    public long bytesSent() {
        return sender == null ? 0 : sender.bytesSent();
    }

    @Override
    public long bytesReceived() {
        TcpConnection r = receiver;
        return r == null ? 0 : r.bytesReceived();
    }
}
