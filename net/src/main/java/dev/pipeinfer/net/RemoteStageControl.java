package dev.pipeinfer.net;

import dev.pipeinfer.pipeline.FailureLatch;
import dev.pipeinfer.pipeline.Message;
import dev.pipeinfer.pipeline.StageControl;
import dev.pipeinfer.pipeline.StageFailureException;
import dev.pipeinfer.pipeline.StageStats;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The head's control channel to a worker stage over its session connection. Replies (Pong,
 * StatsReply) are matched to requests by nonce; a Failure the worker reports, and the end of the
 * connection, are reported to the pipeline's {@link FailureLatch} naming the stage and its address.
 */
final class RemoteStageControl implements StageControl {
    private final int index;
    private final TcpConnection session;
    private final FailureLatch failures;
    private final AtomicLong nonces = new AtomicLong();
    private final Map<Long, CompletableFuture<Message>> waiting = new ConcurrentHashMap<>();
    private volatile boolean closing;
    private volatile String endReason;

    RemoteStageControl(int index, TcpConnection session, FailureLatch failures) {
        this.index = index;
        this.session = session;
        this.failures = failures;
    }

    TcpConnection session() {
        return session;
    }

    /**
     * Handles a message read from the session connection: true if it was a control reply or a
     * failure; false for data (results of the last stage) that belongs to the results link.
     */
    boolean onMessage(Message m) {
        switch (m) {
            case Message.Pong p -> complete(p.nonce(), p);
            case Message.StatsReply s -> complete(s.nonce(), s);
            case Message.Failure f -> {
                failures.report(f);
                return false; // also let it reach the results stream
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    private void complete(long nonce, Message m) {
        CompletableFuture<Message> f = waiting.remove(nonce);
        if (f != null) f.complete(m);
    }

    /** Called when the session connection ended, with why. */
    void connectionEnded(String reason) {
        endReason = reason;
        if (closing) return;
        failures.report(new Message.Failure(index, session.peer(), reason));
        waiting.values().forEach(f -> f.completeExceptionally(new IOException(reason)));
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public String where() {
        return session.peer();
    }

    @Override
    public void cancel(long[] runIds) {
        try {
            session.send(new Message.Cancel(runIds));
        } catch (IOException e) {
            connectionEnded("cannot send a cancel: " + e.getMessage());
        }
    }

    @Override
    public Message.Pong ping(Duration timeout) {
        long nonce = nonces.incrementAndGet();
        return (Message.Pong) request(nonce, new Message.Ping(nonce), timeout, "a ping");
    }

    @Override
    public StageStats stats(Duration timeout) {
        long nonce = nonces.incrementAndGet();
        return ((Message.StatsReply) request(nonce, new Message.StatsRequest(nonce), timeout, "a stats request")).stats();
    }

    private Message request(long nonce, Message request, Duration timeout, String what) {
        if (endReason != null) throw new StageFailureException(index, session.peer(), endReason);
        CompletableFuture<Message> reply = new CompletableFuture<>();
        waiting.put(nonce, reply);
        try {
            session.send(request);
            return reply.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new StageFailureException(index, session.peer(), "no answer to " + what + " within "
                    + timeout.toMillis() + " ms");
        } catch (IOException e) {
            throw new StageFailureException(index, session.peer(), endReason != null ? endReason
                    : "connection lost: " + e.getMessage());
        } catch (ExecutionException e) {
            throw new StageFailureException(index, session.peer(), e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StageFailureException(index, session.peer(), "interrupted waiting for " + what);
        } finally {
            waiting.remove(nonce);
        }
    }

    /** Asks the worker to end the session, then closes the connection. */
    @Override
    public void close() {
        closing = true;
        try {
            session.send(new Message.Shutdown());
        } catch (IOException ignored) {
            // already gone
        }
        session.close();
    }
}
