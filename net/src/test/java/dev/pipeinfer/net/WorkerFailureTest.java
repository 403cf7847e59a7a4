package dev.pipeinfer.net;

import dev.pipeinfer.pipeline.ActivationPool;
import dev.pipeinfer.pipeline.Pipeline;
import dev.pipeinfer.pipeline.Result;
import dev.pipeinfer.pipeline.ResultForm;
import dev.pipeinfer.pipeline.Run;
import dev.pipeinfer.pipeline.RunHeader;
import dev.pipeinfer.pipeline.RunKind;
import dev.pipeinfer.pipeline.StageFailureException;
import dev.pipeinfer.pipeline.fake.FakeModel;
import dev.pipeinfer.pipeline.fake.FakeStageCompute;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Never a hang: a worker that dies, stalls or goes silent ends the head's wait with an error naming it. */
class WorkerFailureTest {
    static final String MODEL = "c".repeat(64);
    static final int LAYERS = 2, EMBD = 8, VOCAB = 16;
    final List<String> status = new CopyOnWriteArrayList<>();
    final List<WorkerServer> workers = new ArrayList<>();
    final List<FakeStageCompute> computes = FakeStageCompute.chain(3, LAYERS, EMBD, VOCAB);

    @AfterEach
    void stop() {
        workers.forEach(WorkerServer::close);
    }

    WorkerServer worker(WorkerServer.ComputeFactory factory) throws IOException {
        WorkerServer w = new WorkerServer(WorkerServer.Config.loopback(0, MODEL), factory, status::add).start();
        workers.add(w);
        return w;
    }

    Pipeline connect(Duration stageTimeout, List<InetSocketAddress> addresses) throws IOException {
        List<TcpPipeline.WorkerPlan> plans = new ArrayList<>();
        for (int i = 0; i < addresses.size(); i++) {
            plans.add(new TcpPipeline.WorkerPlan(addresses.get(i), (i + 1) * LAYERS, (i + 2) * LAYERS));
        }
        return TcpPipeline.connect(computes.getFirst(), plans, TcpPipeline.HeadConfig.defaults(MODEL)
                .withOptions(new Pipeline.Options(2, stageTimeout)), List.of());
    }

    static Run run(long id) {
        return Run.ofTokens(new RunHeader(id, RunKind.STEP, new int[]{(int) id}, new long[]{1}, new int[]{0},
                ResultForm.ARGMAX), new int[]{(int) id + 2});
    }

    @ParameterizedTest(name = "worker of stage {0} closed mid-run")
    @ValueSource(ints = {1, 2})
    void aWorkerClosedMidRunEndsTheWaitNamingItsStageAndAddress(int dying) throws Exception {
        CountDownLatch inRun = new CountDownLatch(1), never = new CountDownLatch(1);
        computes.get(2).setHook((run, layer) -> {
            inRun.countDown();
            never.await();
        });
        WorkerServer w1 = worker(slice -> computes.get(1)), w2 = worker(slice -> computes.get(2));
        try (Pipeline pipeline = connect(Duration.ofSeconds(30), List.of(w1.address(), w2.address()))) {
            pipeline.submit(run(1));
            inRun.await();
            WorkerServer victim = dying == 1 ? w1 : w2;
            // A closing worker drops its connections at once, then waits for its stage's run to stop.
            Thread closing = Thread.ofVirtual().start(victim::close);
            try {
                StageFailureException e = assertThrows(StageFailureException.class, pipeline::next);
                String where = WorkerServer.hostPort(victim.address());
                assertEquals(dying, e.stageIndex(), e.getMessage());
                assertEquals(where, e.where());
                assertTrue(e.getMessage().startsWith("stage " + dying + " (" + where + "): "), e.getMessage());
            } finally {
                never.countDown();
                closing.join();
            }
        }
    }

    @Test
    void aWorkerStuckInARunIsReportedAsStalled() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        computes.get(2).setHook((run, layer) -> never.await());
        WorkerServer w1 = worker(slice -> computes.get(1)), w2 = worker(slice -> computes.get(2));
        try (Pipeline pipeline = connect(Duration.ofMillis(300), List.of(w1.address(), w2.address()))) {
            try {
                pipeline.submit(run(1));
                StageFailureException e = assertThrows(StageFailureException.class, pipeline::next);
                assertEquals(2, e.stageIndex());
                assertEquals(WorkerServer.hostPort(w2.address()), e.where());
                assertTrue(e.getMessage().contains("stalled"), e.getMessage());
            } finally {
                never.countDown(); // the stuck run may end now, so closing its worker does not wait for it
            }
        }
    }

    @Test
    void aWorkerThatStopsAnsweringIsReportedAfterTheStageTimeout() throws Exception {
        // Completes both handshakes, then never reads or answers anything again.
        try (ServerSocket server = new ServerSocket(0, 4, java.net.InetAddress.getLoopbackAddress())) {
            List<Socket> held = new CopyOnWriteArrayList<>();
            Thread.ofVirtual().start(() -> {
                try {
                    while (true) {
                        Socket s = server.accept();
                        held.add(s);
                        TcpConnection conn = new TcpConnection(s, 1 << 20, new ActivationPool());
                        Handshake.Hello hello = Handshake.server(conn, MODEL, null);
                        Handshake.welcome(conn, hello, new Handshake.Welcome("silent", EMBD));
                    }
                } catch (IOException ignored) {
                    // test over
                }
            });
            InetSocketAddress address = (InetSocketAddress) server.getLocalSocketAddress();
            try (Pipeline pipeline = TcpPipeline.connect(new FakeStageCompute(0, 2, LAYERS, EMBD, VOCAB),
                    List.of(new TcpPipeline.WorkerPlan(address, 2, 4)), TcpPipeline.HeadConfig.defaults(MODEL)
                            .withOptions(new Pipeline.Options(2, Duration.ofMillis(300))), List.of())) {
                pipeline.submit(run(1));
                StageFailureException e = assertThrows(StageFailureException.class, pipeline::next);
                assertEquals(1, e.stageIndex());
                assertTrue(e.getMessage().contains("no answer to a ping within 300 ms"), e.getMessage());
                assertTrue(e.getMessage().contains(WorkerServer.hostPort(address)), e.getMessage());
            } finally {
                for (Socket s : held) s.close();
            }
        }
    }

    @Test
    void aWorkerOutlivesHeadsThatLeaveAndServesTheNextOne() throws Exception {
        WorkerServer w = worker(slice -> new FakeStageCompute(slice.stageIndex(), slice.stageCount(), LAYERS, EMBD, VOCAB));

        // A head that completes the handshake and then vanishes without a word.
        try (Socket s = new Socket(w.address().getAddress(), w.address().getPort());
             TcpConnection conn = new TcpConnection(s, 1 << 20, new ActivationPool())) {
            Handshake.client(conn, Handshake.hello(SessionRole.SESSION, 5, MODEL, 1, 2, 2, 4, WireType.F32, 0, "", false), null);
        }
        for (int session = 0; session < 2; session++) {
            for (int i = 0; i < 500 && w.hasActiveSession(); i++) Thread.sleep(10);
            FakeModel reference = new FakeModel(FakeStageCompute.chain(2, LAYERS, EMBD, VOCAB));
            try (Pipeline pipeline = TcpPipeline.connect(new FakeStageCompute(0, 2, LAYERS, EMBD, VOCAB),
                    List.of(new TcpPipeline.WorkerPlan(w.address(), 2, 4)), TcpPipeline.HeadConfig.defaults(MODEL), List.of())) {
                for (long id = 1; id <= 3; id++) {
                    pipeline.submit(run(id));
                    assertEquals(reference.apply(run(id)), pipeline.next());
                }
            }
        }
        for (int i = 0; i < 500 && status.stream().filter(s -> s.contains(" left (")).count() < 3; i++) Thread.sleep(10);
        assertEquals(3, w.sessionsServed());
        assertTrue(status.stream().anyMatch(s -> s.contains("left (head disconnected)")), status.toString());
        assertTrue(status.stream().anyMatch(s -> s.contains("left (shutdown) after 3 runs")), status.toString());
        assertTrue(status.stream().noneMatch(s -> s.contains("stage failed")), "an orderly end is no failure: " + status);
    }
}
