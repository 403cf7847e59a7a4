package dev.pipeinfer.net;

import dev.pipeinfer.pipeline.ActivationPool;
import dev.pipeinfer.pipeline.LinkShape;
import dev.pipeinfer.pipeline.StageCompute;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A worker node: listens for a head, serves one session at a time, and outlives heads that leave
 * and peers that send garbage (DESIGN section 4).
 *
 * <p>A session starts with a SESSION connection from the head, which names this worker's slice and
 * the next hop of the ring; the worker builds its {@link StageCompute} for the slice, connects a DATA
 * connection to the next hop (or sends its output back on the session when it is the last stage) and
 * waits for its upstream's DATA connection. Control messages (Cancel, Ping, Stats, Shutdown) arrive
 * on the session connection. When the head leaves, everything of the session is closed and the
 * worker waits for the next head.
 */
public final class WorkerServer implements AutoCloseable {

    /** Builds the compute of a slice for a session. Closed at the session's end if it is AutoCloseable. */
    @FunctionalInterface
    public interface ComputeFactory {
        StageCompute create(SliceSpec slice) throws Exception;
    }

    /**
     * @param bind               where to listen (default 127.0.0.1:7070)
     * @param fingerprint        the model fingerprint heads must match (GgufFile.fingerprint())
     * @param key                cluster key, or null for none
     * @param insecure           allows a non-loopback bind without a cluster key
     * @param maxFrameBytes      largest frame accepted from an authenticated peer
     * @param handshakeTimeout   how long a peer may take to complete the handshake
     * @param headSilenceTimeout a session whose head sends nothing (not even pings) this long is ended
     * @param linkCapacity       messages a link buffers before the sender waits
     * @param linkShape          interconnect to emulate on this worker's link to the next worker (the head
     *                           shapes its own links): {@code --local-stages} with {@code --link-latency}, or
     *                           {@code worker --link-latency}, shapes every hop
     */
    public record Config(InetSocketAddress bind, String fingerprint, ClusterKey key, boolean insecure, int maxFrameBytes,
                         Duration handshakeTimeout, Duration headSilenceTimeout, int linkCapacity, LinkShape linkShape) {
        public static final int DEFAULT_PORT = 7070;
        public static final int DEFAULT_MAX_FRAME_BYTES = 64 << 20;

        public Config {
            if (linkShape == null) linkShape = LinkShape.NONE;
        }

        public Config(InetSocketAddress bind, String fingerprint, ClusterKey key, boolean insecure, int maxFrameBytes,
                      Duration handshakeTimeout, Duration headSilenceTimeout, int linkCapacity) {
            this(bind, fingerprint, key, insecure, maxFrameBytes, handshakeTimeout, headSilenceTimeout, linkCapacity, LinkShape.NONE);
        }

        public static Config loopback(int port, String fingerprint) {
            return new Config(new InetSocketAddress("127.0.0.1", port), fingerprint, null, false, DEFAULT_MAX_FRAME_BYTES,
                    Duration.ofSeconds(10), Duration.ofMinutes(5), 4);
        }

        public Config withKey(ClusterKey key) {
            return new Config(bind, fingerprint, key, insecure, maxFrameBytes, handshakeTimeout, headSilenceTimeout, linkCapacity, linkShape);
        }

        public Config withMaxFrameBytes(int bytes) {
            return new Config(bind, fingerprint, key, insecure, bytes, handshakeTimeout, headSilenceTimeout, linkCapacity, linkShape);
        }

        public Config withTimeouts(Duration handshake, Duration headSilence) {
            return new Config(bind, fingerprint, key, insecure, maxFrameBytes, handshake, headSilence, linkCapacity, linkShape);
        }

        public Config withLinkShape(LinkShape shape) {
            return new Config(bind, fingerprint, key, insecure, maxFrameBytes, handshakeTimeout, headSilenceTimeout, linkCapacity, shape);
        }
    }

    private final Config config;
    private final ComputeFactory factory;
    private final Consumer<String> status;
    private final ActivationPool pool = new ActivationPool(16);
    private final Set<TcpConnection> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger sessionsServed = new AtomicInteger();
    private final AtomicInteger connectionsRefused = new AtomicInteger();
    private volatile int largestReadBuffer;
    private volatile String lastRefusal;
    private volatile WorkerSession active;
    private ServerSocket server;
    private volatile boolean closed;

    /**
     * @param status receives one-line status messages: a head connecting or leaving, a refused or
     *               malformed connection
     */
    public WorkerServer(Config config, ComputeFactory factory, Consumer<String> status) {
        if (!config.bind().getAddress().isLoopbackAddress() && config.key() == null && !config.insecure()) {
            throw new IllegalArgumentException("refusing to listen on " + hostPort(config.bind())
                    + " without a cluster key: anyone who can reach it could drive this worker; set a cluster key, "
                    + "or pass the explicit insecure flag on a trusted network");
        }
        if (config.fingerprint() == null || config.fingerprint().isEmpty()) {
            throw new IllegalArgumentException("worker needs the model fingerprint");
        }
        this.config = config;
        this.factory = factory;
        this.status = status;
    }

    /** Binds and starts accepting; returns this. */
    public WorkerServer start() throws IOException {
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(config.bind());
        Thread.ofVirtual().name("worker-accept " + address()).start(this::acceptLoop);
        return this;
    }

    /** The bound address (with the actual port when bound to port 0). */
    public InetSocketAddress address() {
        return new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
    }

    public int sessionsServed() {
        return sessionsServed.get();
    }

    public int connectionsRefused() {
        return connectionsRefused.get();
    }

    /** The reason of the last refused or failed connection, or null. */
    public String lastRefusal() {
        return lastRefusal;
    }

    /** The largest frame read buffer any connection has held: never above the frame limit. */
    public int largestReadBuffer() {
        int max = largestReadBuffer;
        for (TcpConnection c : open) max = Math.max(max, c.readBufferCapacity());
        return max;
    }

    public boolean hasActiveSession() {
        return active != null;
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket socket = server.accept();
                Thread.ofVirtual().name("worker-conn").start(() -> handle(socket));
            } catch (IOException e) {
                if (closed) return;
                status.accept("worker " + where() + ": accept failed: " + e.getMessage());
                try {
                    Thread.sleep(100); // e.g. out of file descriptors: do not spin
                } catch (InterruptedException interrupted) {
                    return;
                }
            }
        }
    }

    private void handle(Socket socket) {
        TcpConnection conn;
        try {
            conn = new TcpConnection(socket, config.maxFrameBytes(), pool);
        } catch (IOException e) {
            closeQuietly(socket);
            return;
        }
        open.add(conn);
        boolean handedOver = false;
        try {
            conn.readTimeout((int) config.handshakeTimeout().toMillis());
            Handshake.Hello hello = Handshake.server(conn, config.fingerprint(), config.key());
            switch (hello.role()) {
                case SESSION -> serveSession(conn, hello);
                case DATA -> handedOver = attachData(conn, hello);
            }
        } catch (HandshakeException e) {
            refused(conn, e.getMessage());
        } catch (EOFException e) {
            refused(conn, "peer closed the connection during the handshake");
        } catch (SocketTimeoutException e) {
            refused(conn, "handshake not completed within " + config.handshakeTimeout().toMillis() + " ms");
        } catch (ProtocolException e) {
            refused(conn, "protocol error: " + e.getMessage());
        } catch (IOException e) {
            if (!closed) refused(conn, "connection failed: " + e.getMessage());
        } catch (RuntimeException e) {
            refused(conn, "internal error: " + e);
        } finally {
            if (!handedOver) release(conn);
        }
    }

    private void refused(TcpConnection conn, String reason) {
        connectionsRefused.incrementAndGet();
        lastRefusal = reason;
        status.accept("worker " + where() + ": closed connection from " + conn.peer() + ": " + reason);
    }

    void release(TcpConnection conn) {
        largestReadBuffer = Math.max(largestReadBuffer, conn.readBufferCapacity());
        open.remove(conn);
        conn.close();
    }

    private boolean attachData(TcpConnection conn, Handshake.Hello hello) throws IOException {
        WorkerSession session = active;
        if (session == null || session.id() != hello.sessionId()) {
            throw conn.refuse("no session " + Long.toHexString(hello.sessionId()) + " on this worker");
        }
        return session.attachInput(conn, hello);
    }

    private void serveSession(TcpConnection conn, Handshake.Hello hello) throws IOException {
        WorkerSession session;
        StageCompute compute;
        synchronized (this) {
            if (active != null) throw conn.refuse("busy: serving the head at " + active.headPeer());
            SliceSpec slice = new SliceSpec(hello.stageIndex(), hello.stageCount(), hello.firstLayer(),
                    hello.lastLayer(), hello.threads(), hello.wireType());
            if (slice.isFirst()) throw conn.refuse("stage 0 runs on the head, not on a worker");
            try {
                compute = factory.create(slice);
            } catch (Exception e) {
                throw conn.refuse("cannot serve " + slice + ": " + e.getMessage());
            }
            session = new WorkerSession(this, conn, hello, slice, compute);
            active = session;
        }
        String ended = "ended";
        try {
            session.open(config);
            compute.startWarmUp(); // after the handshake, so that the head is not kept waiting for its reply
            sessionsServed.incrementAndGet();
            status.accept("worker " + where() + ": head " + conn.peer() + " connected: " + session.slice()
                    + ", wire " + hello.wireType().name().toLowerCase(java.util.Locale.ROOT)
                    + (hello.nextHop().isEmpty() ? ", results back to the head" : ", next stage at " + hello.nextHop()));
            conn.readTimeout((int) config.headSilenceTimeout().toMillis());
            ended = session.serveControl();
        } catch (HandshakeException e) {
            ended = "refused: " + e.getMessage();
            throw e;
        } catch (SocketTimeoutException e) {
            ended = "head silent for " + config.headSilenceTimeout().toMillis() + " ms";
        } catch (EOFException e) {
            ended = "head disconnected";
        } catch (SocketException e) {
            ended = closed ? "worker shutting down" : "connection lost: " + e.getMessage();
        } catch (ProtocolException e) {
            ended = "protocol error: " + e.getMessage();
        } finally {
            session.close();
            synchronized (this) {
                active = null;
            }
            status.accept("worker " + where() + ": head " + conn.peer() + " left (" + ended + ") after "
                    + session.stats().runsExecuted() + " runs, " + session.stats().runsCancelled() + " cancelled");
        }
    }

    void status(String line) {
        status.accept("worker " + where() + ": " + line);
    }

    /** Describes this worker in messages. */
    String where() {
        return hostPort(address());
    }

    ActivationPool pool() {
        return pool;
    }

    void track(TcpConnection conn) {
        open.add(conn);
    }

    static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    /** Stops listening and ends the active session, closing every connection. */
    @Override
    public void close() {
        closed = true;
        try {
            if (server != null) server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (TcpConnection c : open) c.close();
        WorkerSession s = active;
        if (s != null) s.close();
    }
}
