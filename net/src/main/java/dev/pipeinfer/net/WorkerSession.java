package dev.pipeinfer.net;

import dev.pipeinfer.pipeline.Link;
import dev.pipeinfer.pipeline.Message;
import dev.pipeinfer.pipeline.Stage;
import dev.pipeinfer.pipeline.StageCompute;
import dev.pipeinfer.pipeline.ResidentMemory;
import dev.pipeinfer.pipeline.StageStats;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** One head's session on a worker: the stage, its links, and the control loop on the session connection. */
final class WorkerSession {
    private final WorkerServer server;
    private final TcpConnection session;
    private final Handshake.Hello hello;
    private final SliceSpec slice;
    private final StageCompute compute;
    private TcpLink input;
    private TcpLink output;
    private Link shapedOutput; // output as the stage sends to it: shaped towards a next worker
    private TcpConnection inputConnection;
    private TcpConnection outputConnection;
    private Stage stage;
    private volatile boolean inputAttached;
    private volatile boolean closed;
    private final CountDownLatch closing = new CountDownLatch(1);

    WorkerSession(WorkerServer server, TcpConnection session, Handshake.Hello hello, SliceSpec slice, StageCompute compute) {
        this.server = server;
        this.session = session;
        this.hello = hello;
        this.slice = slice;
        this.compute = compute;
    }

    long id() {
        return hello.sessionId();
    }

    String headPeer() {
        return session.peer();
    }

    SliceSpec slice() {
        return slice;
    }

    /** Connects the output (next hop or back to the head), starts the stage, and welcomes the head. */
    synchronized void open(WorkerServer.Config config) throws IOException {
        if (compute.isFirst() || compute.isLast() != slice.isLast()) {
            throw session.refuse("the compute for " + slice + " says first=" + compute.isFirst() + ", last=" + compute.isLast());
        }
        input = new TcpLink((slice.stageIndex() - 1) + "->" + slice.stageIndex(), config.linkCapacity(), null, false);
        if (hello.nextHop().isEmpty()) {
            if (!slice.isLast()) throw session.refuse(slice + " has no next hop but is not the last stage");
            output = new TcpLink(slice.stageIndex() + "->head", config.linkCapacity(), session, false);
        } else {
            TcpConnection next;
            try {
                next = connect(hello.nextHop(), config);
            } catch (HandshakeException e) {
                throw session.refuse("the next stage at " + hello.nextHop() + " refused this worker: " + e.getMessage());
            } catch (IOException e) {
                throw session.refuse("cannot reach the next stage at " + hello.nextHop() + ": " + e.getMessage());
            }
            outputConnection = next;
            output = new TcpLink(slice.stageIndex() + "->" + (slice.stageIndex() + 1), config.linkCapacity(), next, true);
        }
        // Towards the head the head shapes what it receives; towards the next worker this worker shapes.
        shapedOutput = hello.nextHop().isEmpty() ? output : config.linkShape().onSend(output);
        stage = new Stage(slice.stageIndex(), server.where(), compute, input, shapedOutput, server.pool(), this::stageFailed);
        output.onWriteFailure(reason -> stageFailed(new Message.Failure(slice.stageIndex(), server.where(),
                Stage.OUTPUT_FAILED + reason)));
        stage.start();
        Handshake.welcome(session, hello, new Handshake.Welcome("worker " + server.where() + " serving " + slice,
                compute.embeddingSize()));
    }

    private TcpConnection connect(String hostPort, WorkerServer.Config config) throws IOException {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0) throw new IOException("next hop '" + hostPort + "' is not host:port");
        int port;
        try {
            port = Integer.parseInt(hostPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IOException("next hop '" + hostPort + "' has no valid port");
        }
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(hostPort.substring(0, colon), port), (int) config.handshakeTimeout().toMillis());
        TcpConnection conn = new TcpConnection(socket, config.maxFrameBytes(), server.pool());
        server.track(conn);
        try {
            conn.readTimeout((int) config.handshakeTimeout().toMillis());
            Handshake.client(conn, Handshake.hello(SessionRole.DATA, hello.sessionId(), hello.fingerprint(),
                    slice.stageIndex() + 1, slice.stageCount(), hello.firstLayer(), hello.lastLayer(), hello.wireType(),
                    hello.threads(), "", config.key() != null), config.key());
            conn.readTimeout(0);
            return conn;
        } catch (IOException | RuntimeException e) {
            server.release(conn);
            throw e;
        }
    }

    /** Takes the upstream's DATA connection as this stage's input; false (and refused) if one is already there. */
    synchronized boolean attachInput(TcpConnection conn, Handshake.Hello data) throws IOException {
        if (closed) throw conn.refuse("session " + Long.toHexString(id()) + " has ended");
        if (stage == null) throw conn.refuse("session " + Long.toHexString(id()) + " is not ready for its input yet");
        if (inputAttached) throw conn.refuse("stage " + slice.stageIndex() + " already has its input connected");
        if (data.stageIndex() != slice.stageIndex()) {
            throw conn.refuse("this worker is stage " + slice.stageIndex() + ", not stage " + data.stageIndex());
        }
        Handshake.welcome(conn, data, new Handshake.Welcome("worker " + server.where() + " input of " + slice,
                compute.embeddingSize()));
        conn.readTimeout(0);
        inputAttached = true;
        inputConnection = conn;
        input.attachReceiver(conn, m -> false);
        return true;
    }

    /** Serves control messages from the head until Shutdown; returns why the session ended. */
    String serveControl() throws IOException {
        while (true) {
            Message m = session.receive();
            switch (m) {
                case Message.Cancel c -> stage.cancel(c.runIds());
                case Message.Ping p -> session.send(stage.pong(p.nonce()));
                case Message.StatsRequest s -> session.send(new Message.StatsReply(s.nonce(), stage.stats()));
                case Message.Shutdown s -> {
                    return "shutdown";
                }
                default -> throw new ProtocolException("the session connection carries control messages, not " + m);
            }
        }
    }

    /**
     * Tells the head straight away (one hop). The session stays open: the head ends it, or its
     * disconnect does; the input of a stage also ends normally when the head shuts the ring down.
     */
    private void stageFailed(Message.Failure failure) {
        if (failure.reason().startsWith(Stage.INPUT_ENDED) && failure.reason().contains(TcpLink.PEER_CLOSED)
                && endsWithinGrace()) {
            return;
        }
        if (closed) return;
        server.status("stage failed: " + failure.describe());
        try {
            session.send(failure);
        } catch (IOException ignored) {
            // the head is gone; the session loop sees that too
        }
    }

    /**
     * At the end of a session the upstream node closes its data connection at about the time the head's
     * Shutdown arrives here, in either order; an input closed in order just before the Shutdown is that,
     * not a failure. (If the upstream node died, the head hears of it from that node's own session.)
     */
    private boolean endsWithinGrace() {
        try {
            return closing.await(INPUT_END_GRACE_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return closed;
        }
    }

    private static final long INPUT_END_GRACE_MILLIS = 500;

    StageStats stats() {
        return stage != null ? stage.stats() : new StageStats(slice.stageIndex(), 0, 0, 0, 0, 0, 0, 0, 0, 0, ResidentMemory.bytes());
    }

    void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        closing.countDown();
        if (stage != null) stage.close();
        if (input != null) input.close();
        if (shapedOutput != null) shapedOutput.close();
        if (output != null) output.close();
        server.release(session);
        if (inputConnection != null) server.release(inputConnection);
        if (outputConnection != null) server.release(outputConnection);
        if (stage != null) stage.awaitEnd(Stage.CLOSE_WAIT); // its run stops at the next layer, before the pool goes
        if (compute instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception ignored) {
                // the session is over either way
            }
        }
    }
}
