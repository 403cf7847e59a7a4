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
 * A {@link Link} over TCP. Sending encodes straight onto the sending connection; receiving is fed by
 * a reader thread that decodes frames from the receiving connection into a small bounded inbox, so
 * the network transfer of the next run overlaps the compute of the current one, and a full inbox
 * holds the sender back through TCP flow control.
 *
 * <p>Either side may be attached later (a worker's stage starts before its upstream connects).
 */
public final class TcpLink implements Link {
    private final String name;
    private final InMemoryLink inbox;
    private volatile TcpConnection sender;
    private volatile TcpConnection receiver;
    private final boolean ownsSender;

    /**
     * @param ownsSender whether closing the link closes the sending connection (false when the
     *                   connection is a session shared with control traffic)
     */
    public TcpLink(String name, int inboxCapacity, TcpConnection sender, boolean ownsSender) {
        this.name = name;
        this.inbox = new InMemoryLink(name, inboxCapacity);
        this.sender = sender;
        this.ownsSender = ownsSender;
    }

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
                reason = "connection closed by " + connection.peer();
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
    public void send(Message message) {
        TcpConnection c = sender;
        if (c == null) throw new LinkClosedException("link " + name + " has no connection to send on");
        try {
            c.send(message);
        } catch (IOException e) {
            throw new LinkClosedException("link " + describe() + " broken: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new LinkClosedException("link " + describe() + " cannot send " + message + ": " + e.getMessage(), e);
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

    @Override
    public void close() {
        inbox.close("closed");
        TcpConnection c = sender;
        if (ownsSender && c != null) c.close();
        TcpConnection r = receiver;
        if (r != null && r != c) r.close();
    }

    @Override
    public String describe() {
        TcpConnection c = sender != null ? sender : receiver;
        return "tcp " + name + (c != null ? " (" + c.peer() + ")" : "");
    }

    @Override
    public long bytesSent() {
        TcpConnection c = sender;
        return c == null ? 0 : c.bytesSent();
    }

    @Override
    public long bytesReceived() {
        TcpConnection r = receiver;
        return r == null ? 0 : r.bytesReceived();
    }
}
