package dev.pipeinfer.net;

import dev.pipeinfer.pipeline.ActivationPool;
import dev.pipeinfer.pipeline.FailureLatch;
import dev.pipeinfer.pipeline.InMemoryLink;
import dev.pipeinfer.pipeline.Link;
import dev.pipeinfer.pipeline.LocalStageControl;
import dev.pipeinfer.pipeline.Message;
import dev.pipeinfer.pipeline.Pipeline;
import dev.pipeinfer.pipeline.Stage;
import dev.pipeinfer.pipeline.StageCompute;
import dev.pipeinfer.pipeline.StageControl;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the head's {@link Pipeline} over TCP workers: stage 0 runs here, stages 1..N-1 on workers,
 * data flows head -> worker 1 -> ... -> worker N-1 -> head, and control goes from the head to each
 * worker directly (DESIGN section 4).
 *
 * <p>Setup order, so that every DATA connection finds its session waiting: sessions are opened from
 * the last worker to the first (each worker connects to its next hop while accepting its session),
 * then the head connects its own DATA connection to worker 1.
 */
public final class TcpPipeline {

    /** A worker and the layers it serves. */
    public record WorkerPlan(InetSocketAddress address, int firstLayer, int lastLayer) {
    }

    /**
     * @param fingerprint    the model fingerprint (GgufFile.fingerprint()) every worker must match
     * @param key            cluster key, or null
     * @param wire           activation encoding on the wire
     * @param threads        compute threads asked of each worker (0 = its default)
     * @param connectTimeout for connecting and for the handshake
     */
    public record HeadConfig(String fingerprint, ClusterKey key, WireType wire, int threads, int maxFrameBytes,
                             Duration connectTimeout, Pipeline.Options options) {
        public static HeadConfig defaults(String fingerprint) {
            return new HeadConfig(fingerprint, null, WireType.F32, 0, WorkerServer.Config.DEFAULT_MAX_FRAME_BYTES,
                    Duration.ofSeconds(10), Pipeline.Options.defaults());
        }

        public HeadConfig withKey(ClusterKey k) {
            return new HeadConfig(fingerprint, k, wire, threads, maxFrameBytes, connectTimeout, options);
        }

        public HeadConfig withWire(WireType w) {
            return new HeadConfig(fingerprint, key, w, threads, maxFrameBytes, connectTimeout, options);
        }

        public HeadConfig withOptions(Pipeline.Options o) {
            return new HeadConfig(fingerprint, key, wire, threads, maxFrameBytes, connectTimeout, o);
        }
    }

    /**
     * Connects to the workers and starts stage 0 locally.
     *
     * @param stage0      the head's own slice (embedding + first layers)
     * @param workers     stages 1..N-1 in order
     * @param extra       closed with the pipeline (e.g. in-process worker servers)
     * @throws HandshakeException when a worker refuses (version, fingerprint, key, busy), naming it
     */
    public static Pipeline connect(StageCompute stage0, List<WorkerPlan> workers, HeadConfig config,
                                   List<AutoCloseable> extra) throws IOException {
        if (workers.isEmpty()) {
            throw new IllegalArgumentException("a TCP pipeline needs at least one worker; use Pipeline.inMemory for one stage");
        }
        int stageCount = workers.size() + 1;
        long sessionId = new SecureRandom().nextLong();
        FailureLatch failures = new FailureLatch();
        ActivationPool pool = new ActivationPool(8);
        int capacity = config.options().linkCapacity();
        List<AutoCloseable> opened = new ArrayList<>();
        RemoteStageControl[] remotes = new RemoteStageControl[stageCount];
        TcpLink results = null;
        try {
            for (int i = stageCount - 1; i >= 1; i--) {
                WorkerPlan plan = workers.get(i - 1);
                String nextHop = i < stageCount - 1 ? WorkerServer.hostPort(workers.get(i).address()) : "";
                TcpConnection conn = connect(plan.address(), config, i, Handshake.hello(SessionRole.SESSION, sessionId,
                        config.fingerprint(), i, stageCount, plan.firstLayer(), plan.lastLayer(), config.wire(),
                        config.threads(), nextHop, config.key() != null));
                RemoteStageControl control = new RemoteStageControl(i, conn, failures);
                remotes[i] = control;
                opened.add(control);
                TcpLink sessionLink = new TcpLink("session " + i, capacity, null, false);
                if (i == stageCount - 1) {
                    results = sessionLink;
                    sessionLink.attachReceiver(conn, control::onMessage, control::connectionEnded);
                } else {
                    sessionLink.attachReceiver(conn, m -> control.onMessage(m) || true, control::connectionEnded);
                }
                opened.add(sessionLink);
            }
            TcpConnection data = connect(workers.getFirst().address(), config, 1, Handshake.hello(SessionRole.DATA,
                    sessionId, config.fingerprint(), 1, stageCount, workers.getFirst().firstLayer(),
                    workers.getFirst().lastLayer(), config.wire(), config.threads(), "", config.key() != null));
            TcpLink toWorker1 = new TcpLink("0->1", capacity, data, true);
            toWorker1.onWriteFailure(reason -> failures.report(new Message.Failure(0, "head", Stage.OUTPUT_FAILED + reason)));
            opened.add(toWorker1);

            InMemoryLink submit = new InMemoryLink("head->0", capacity);
            // --link-latency/--link-bandwidth: the head shapes what it sends to worker 1 and what it receives back.
            Stage stage = new Stage(0, "head", stage0, submit, config.options().linkShape().onSend(toWorker1), pool,
                    failures::report).start();
            List<StageControl> controls = new ArrayList<>();
            controls.add(new LocalStageControl(stage));
            for (int i = 1; i < stageCount; i++) controls.add(remotes[i]);

            // Closing order: stop stage 0, tell every worker to end its session (Shutdown arrives before
            // the end of any stream, so workers log an orderly end), then close the links.
            List<AutoCloseable> resources = new ArrayList<>(controls);
            resources.add(submit);
            resources.addAll(opened.reversed());
            resources.addAll(extra);
            Link resultLink = config.options().linkShape().onReceive(results);
            if (resultLink != results) resources.add(resultLink);
            return new Pipeline(submit, resultLink, controls, resources, failures, config.options().stageTimeout());
        } catch (IOException | RuntimeException e) {
            for (AutoCloseable c : opened.reversed()) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // unwinding
                }
            }
            throw e;
        }
    }

    private static TcpConnection connect(InetSocketAddress address, HeadConfig config, int stage,
                                         Handshake.Hello hello) throws IOException {
        String where = "stage " + stage + " at " + WorkerServer.hostPort(address);
        Socket socket = new Socket();
        try {
            socket.connect(address, (int) config.connectTimeout().toMillis());
        } catch (IOException e) {
            socket.close();
            throw new IOException("cannot connect to " + where + ": " + e.getMessage(), e);
        }
        TcpConnection conn = new TcpConnection(socket, config.maxFrameBytes(), new ActivationPool(8));
        try {
            conn.readTimeout((int) config.connectTimeout().toMillis());
            Handshake.client(conn, hello, config.key());
            conn.readTimeout(0);
            return conn;
        } catch (HandshakeException e) {
            conn.close();
            throw new HandshakeException(where + ": " + e.getMessage(), e.refusedByPeer());
        } catch (IOException | RuntimeException e) {
            conn.close();
            throw new IOException(where + ": handshake failed: " + e.getMessage(), e);
        }
    }

    private TcpPipeline() {
    }
}
