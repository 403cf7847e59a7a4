package dev.pipeinfer.net;

import dev.pipeinfer.pipeline.ActivationPool;
import dev.pipeinfer.pipeline.Pipeline;
import dev.pipeinfer.pipeline.Result;
import dev.pipeinfer.pipeline.ResultForm;
import dev.pipeinfer.pipeline.Run;
import dev.pipeinfer.pipeline.RunHeader;
import dev.pipeinfer.pipeline.RunKind;
import dev.pipeinfer.pipeline.fake.FakeModel;
import dev.pipeinfer.pipeline.fake.FakeStageCompute;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A head and a worker agree on version, model and key, or both say clearly why not. */
class HandshakeTest {
    static final String MODEL_A = "a".repeat(64), MODEL_B = "b".repeat(64);
    final List<String> status = new CopyOnWriteArrayList<>();
    WorkerServer worker;

    @AfterEach
    void stop() {
        if (worker != null) worker.close();
    }

    WorkerServer startWorker(String fingerprint, ClusterKey key) throws IOException {
        worker = new WorkerServer(WorkerServer.Config.loopback(0, fingerprint).withKey(key),
                slice -> new FakeStageCompute(slice.stageIndex(), slice.stageCount(), 2, 8, 16), status::add).start();
        return worker;
    }

    Pipeline connect(String fingerprint, ClusterKey key) throws IOException {
        return TcpPipeline.connect(new FakeStageCompute(0, 2, 2, 8, 16),
                List.of(new TcpPipeline.WorkerPlan(worker.address(), 2, 4)),
                TcpPipeline.HeadConfig.defaults(fingerprint).withKey(key), List.of());
    }

    static Run prompt() {
        return Run.ofTokens(new RunHeader(1, RunKind.PROMPT, new int[]{0, 1}, new long[]{1, 1}, new int[]{1},
                ResultForm.ARGMAX), new int[]{3, 4});
    }

    /** The worker's refusal reason, once its connection thread has logged it. */
    String workerRefusal() throws InterruptedException {
        for (int i = 0; i < 500 && worker.lastRefusal() == null; i++) Thread.sleep(10);
        return worker.lastRefusal();
    }

    @Test
    void matchingModelAndKeyGiveAWorkingSession() throws Exception {
        startWorker(MODEL_A, ClusterKey.of("s3cret"));
        try (Pipeline p = connect(MODEL_A, ClusterKey.of("s3cret"))) {
            p.submit(prompt());
            Result expected = new FakeModel(FakeStageCompute.chain(2, 2, 8, 16)).apply(prompt());
            assertEquals(expected, p.next());
        }
        assertTrue(status.stream().anyMatch(s -> s.contains("connected") && s.contains("stage 1 of 2, layers [2,4)")), status.toString());
    }

    @Test
    void aDifferentModelIsRefusedOnBothSides() throws Exception {
        startWorker(MODEL_A, null);
        HandshakeException head = assertThrows(HandshakeException.class, () -> connect(MODEL_B, null));
        assertTrue(head.refusedByPeer());
        assertTrue(head.getMessage().contains("model fingerprint mismatch: head has " + MODEL_B + ", worker has " + MODEL_A),
                head.getMessage());
        assertTrue(head.getMessage().startsWith("stage 1 at " + WorkerServer.hostPort(worker.address())), head.getMessage());
        assertTrue(workerRefusal().contains("model fingerprint mismatch"), worker.lastRefusal());
        assertFalse(worker.hasActiveSession());
    }

    @Test
    void theHeadChecksTheWorkersFingerprintToo() throws Exception {
        // A worker that skips its own check and answers with another model's fingerprint.
        try (ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> workerSaw = fakeWorker(server, MODEL_B, Handshake.PROTOCOL_VERSION);
            HandshakeException head = assertThrows(HandshakeException.class, () -> TcpPipeline.connect(
                    new FakeStageCompute(0, 2, 1, 4, 4), List.of(new TcpPipeline.WorkerPlan(
                            (InetSocketAddress) server.getLocalSocketAddress(), 1, 2)),
                    TcpPipeline.HeadConfig.defaults(MODEL_A), List.of()));
            assertFalse(head.refusedByPeer());
            assertTrue(head.getMessage().contains("model fingerprint mismatch: head has " + MODEL_A + ", worker has " + MODEL_B),
                    head.getMessage());
            assertTrue(workerSaw.get(10, TimeUnit.SECONDS).contains("model fingerprint mismatch"), workerSaw.get());
        }
    }

    @Test
    void aWrongClusterKeyIsRefusedOnBothSidesAndTheKeyNeverCrossesTheWire() throws Exception {
        startWorker(MODEL_A, ClusterKey.of("worker-secret"));
        HandshakeException head = assertThrows(HandshakeException.class, () -> connect(MODEL_A, ClusterKey.of("head-secret")));
        assertTrue(head.getMessage().contains("cluster key mismatch"), head.getMessage());
        assertTrue(workerRefusal().contains("cluster key mismatch"), worker.lastRefusal());
    }

    @Test
    void aWorkerWithAKeyRefusesAHeadWithout() throws Exception {
        startWorker(MODEL_A, ClusterKey.of("k"));
        HandshakeException head = assertThrows(HandshakeException.class, () -> connect(MODEL_A, null));
        assertTrue(head.refusedByPeer());
        assertTrue(head.getMessage().contains("this worker requires a cluster key"), head.getMessage());
        assertTrue(workerRefusal().contains("requires a cluster key"), worker.lastRefusal());
    }

    @Test
    void aHeadWithAKeyRefusesAWorkerWithout() throws Exception {
        startWorker(MODEL_A, null);
        HandshakeException head = assertThrows(HandshakeException.class, () -> connect(MODEL_A, ClusterKey.of("k")));
        assertFalse(head.refusedByPeer());
        assertTrue(head.getMessage().contains("the head has a cluster key, the worker"), head.getMessage());
        assertTrue(workerRefusal().contains("cluster key mismatch"), worker.lastRefusal());
    }

    @Test
    void anotherProtocolVersionIsRefusedOnBothSides() throws Exception {
        startWorker(MODEL_A, null);
        // A head from the future: its Hello says version 99.
        try (Socket s = new Socket(worker.address().getAddress(), worker.address().getPort());
             TcpConnection conn = new TcpConnection(s, 1 << 20, new ActivationPool())) {
            Handshake.Hello hello = new Handshake.Hello(99, SessionRole.SESSION, 1, MODEL_A, 1, 2, 0, 1, WireType.F32, 0, "",
                    false, new byte[Handshake.NONCE_BYTES]);
            conn.sendHandshake(FrameType.HELLO, w -> Handshake.writeHello(w, hello));
            HandshakeException e = assertThrows(HandshakeException.class, () -> conn.receiveHandshake(FrameType.CHALLENGE));
            assertTrue(e.getMessage().contains("protocol version mismatch") && e.getMessage().contains("speaks 99"), e.getMessage());
        }
        assertTrue(workerRefusal().contains("protocol version mismatch"), worker.lastRefusal());

        // A worker from the future: its Challenge says the next version.
        try (ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> workerSaw = fakeWorker(server, MODEL_A, Handshake.PROTOCOL_VERSION + 1);
            HandshakeException head = assertThrows(HandshakeException.class, () -> TcpPipeline.connect(
                    new FakeStageCompute(0, 2, 1, 4, 4), List.of(new TcpPipeline.WorkerPlan(
                            (InetSocketAddress) server.getLocalSocketAddress(), 1, 2)),
                    TcpPipeline.HeadConfig.defaults(MODEL_A), List.of()));
            assertTrue(head.getMessage().contains("protocol version mismatch: head speaks " + Handshake.PROTOCOL_VERSION), head.getMessage());
            assertTrue(workerSaw.get(10, TimeUnit.SECONDS).contains("protocol version mismatch"), workerSaw.get());
        }
    }

    @Test
    void aSecondHeadIsToldTheWorkerIsBusy() throws Exception {
        startWorker(MODEL_A, null);
        try (Pipeline first = connect(MODEL_A, null)) {
            HandshakeException second = assertThrows(HandshakeException.class, () -> connect(MODEL_A, null));
            assertTrue(second.getMessage().contains("busy: serving the head at"), second.getMessage());
            first.submit(prompt());
            assertInstanceOf(Result.class, first.next(), "the first session is unharmed");
        }
    }

    @Test
    void listeningBeyondLoopbackNeedsAKeyOrAnExplicitInsecureFlag() {
        InetSocketAddress any = new InetSocketAddress("0.0.0.0", 7070);
        WorkerServer.Config open = new WorkerServer.Config(any, MODEL_A, null, false, 1 << 20,
                java.time.Duration.ofSeconds(1), java.time.Duration.ofSeconds(1), 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new WorkerServer(open, slice -> null, s -> { }));
        assertTrue(e.getMessage().contains("without a cluster key"), e.getMessage());
        assertDoesNotThrow(() -> new WorkerServer(open.withKey(ClusterKey.of("k")), slice -> null, s -> { }));
        WorkerServer.Config insecure = new WorkerServer.Config(any, MODEL_A, null, true, 1 << 20,
                java.time.Duration.ofSeconds(1), java.time.Duration.ofSeconds(1), 2);
        assertDoesNotThrow(() -> new WorkerServer(insecure, slice -> null, s -> { }));
    }

    /** Accepts one connection, answers its Hello with a Challenge of the given fingerprint and version. */
    static CompletableFuture<String> fakeWorker(ServerSocket server, String fingerprint, int version) {
        CompletableFuture<String> refusal = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (Socket s = server.accept(); TcpConnection conn = new TcpConnection(s, 1 << 20, new ActivationPool())) {
                conn.receiveHandshake(FrameType.HELLO);
                conn.sendHandshake(FrameType.CHALLENGE, w -> w.i32(Handshake.MAGIC).i32(version).string(fingerprint)
                        .u8(0).bytes(new byte[Handshake.NONCE_BYTES]).bytes(new byte[0]));
                conn.receiveHandshake(FrameType.PROOF);
                refusal.complete("no refusal");
            } catch (HandshakeException e) {
                refusal.complete(e.getMessage());
            } catch (IOException e) {
                refusal.complete("error: " + e);
            }
        });
        return refusal;
    }
}
