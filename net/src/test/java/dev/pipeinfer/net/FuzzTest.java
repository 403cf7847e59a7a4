package dev.pipeinfer.net;

import dev.pipeinfer.pipeline.ActivationPool;
import dev.pipeinfer.pipeline.Activations;
import dev.pipeinfer.pipeline.KvEdit;
import dev.pipeinfer.pipeline.Message;
import dev.pipeinfer.pipeline.Pipeline;
import dev.pipeinfer.pipeline.Result;
import dev.pipeinfer.pipeline.ResultForm;
import dev.pipeinfer.pipeline.Run;
import dev.pipeinfer.pipeline.RunHeader;
import dev.pipeinfer.pipeline.RunKind;
import dev.pipeinfer.pipeline.fake.FakeModel;
import dev.pipeinfer.pipeline.fake.FakeStageCompute;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Thousands of seeded, mutated frames thrown at a worker: before the handshake, on an authenticated
 * session connection, and on a stage's data input. The worker must answer each with a closed
 * connection and a reason, never an internal error, never a buffer above its frame limit, and must
 * still serve a correct session afterwards.
 */
class FuzzTest {
    static final String MODEL = "d".repeat(64);
    static final int FRAME_LIMIT = 1 << 20;
    static final int EMBD = 8, VOCAB = 16;

    final List<String> status = new CopyOnWriteArrayList<>();
    final List<Throwable> uncaught = new CopyOnWriteArrayList<>();

    @Test
    void aWorkerSurvivesMutatedFramesAndStillServesCorrectly() throws Exception {
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(e));
        WorkerServer.Config config = WorkerServer.Config.loopback(0, MODEL).withMaxFrameBytes(FRAME_LIMIT)
                .withTimeouts(Duration.ofMillis(500), Duration.ofSeconds(30));
        try (WorkerServer worker = new WorkerServer(config,
                slice -> new FakeStageCompute(slice.stageIndex(), slice.stageCount(), 2, EMBD, VOCAB), status::add).start()) {
            Random random = new Random(20261122);
            List<byte[]> handshakeFrames = List.of(
                    frame(FrameType.HELLO, w -> Handshake.writeHello(w, hello(SessionRole.SESSION))),
                    frame(FrameType.HELLO, w -> Handshake.writeHello(w, hello(SessionRole.DATA))),
                    frame(FrameType.PROOF, w -> w.bytes(new byte[32])));
            List<byte[]> controlFrames = messageFrames(List.of(new Message.Ping(3), new Message.Cancel(new long[]{1, 2}),
                    new Message.StatsRequest(9), new Message.Shutdown()));
            List<byte[]> dataFrames = messageFrames(List.of(tokensRun(), activationsRun(),
                    KvEdit.of(new KvEdit.Commit(1, 0, 0, 4), new KvEdit.Keep(0)), new Message.Cancelled(3, 0),
                    new Message.Barrier(4)));

            int cases = 2000;
            for (int i = 0; i < cases; i++) {
                int mode = random.nextInt(10);
                if (mode < 6) {
                    sendRaw(worker, mutate(random, pick(random, handshakeFrames), random.nextInt(8)), random);
                } else if (mode < 9) {
                    sendAfterHandshake(worker, SessionRole.SESSION, mutate(random, pick(random, controlFrames), random.nextInt(8)));
                } else {
                    fuzzDataInput(worker, mutate(random, pick(random, dataFrames), random.nextInt(8)));
                }
                waitUntilIdle(worker);
            }

            long dataErrors = status.stream().filter(s -> s.contains("stage failed") && s.contains("protocol error")).count();
            System.out.printf("fuzz: %d cases, %d connections refused, %d protocol errors in the handshake or session, "
                            + "%d on the data input, largest read buffer %d bytes%n", cases, worker.connectionsRefused(),
                    status.stream().filter(s -> s.contains("protocol error")).count() - dataErrors, dataErrors,
                    worker.largestReadBuffer());
            assertTrue(dataErrors > 0, "the data input's decoder was reached");
            assertTrue(uncaught.isEmpty(), "uncaught exceptions: " + uncaught);
            assertTrue(status.stream().noneMatch(s -> s.contains("internal error")),
                    status.stream().filter(s -> s.contains("internal error")).limit(5).toList().toString());
            assertTrue(worker.largestReadBuffer() <= FRAME_LIMIT, "read buffer " + worker.largestReadBuffer());
            assertTrue(worker.largestReadBuffer() > TcpConnection.HANDSHAKE_FRAME_LIMIT,
                    "some authenticated frame claimed more than the handshake limit: " + worker.largestReadBuffer());
            assertTrue(worker.connectionsRefused() > cases / 2, "the fuzzer was refused " + worker.connectionsRefused() + " times");
            long protocolErrors = status.stream().filter(s -> s.contains("protocol error")).count();
            assertTrue(protocolErrors > cases / 4, protocolErrors + " protocol errors logged");

            // ... and a proper head is still served correctly.
            FakeModel reference = new FakeModel(FakeStageCompute.chain(2, 2, EMBD, VOCAB));
            try (Pipeline pipeline = TcpPipeline.connect(new FakeStageCompute(0, 2, 2, EMBD, VOCAB),
                    List.of(new TcpPipeline.WorkerPlan(worker.address(), 2, 4)),
                    TcpPipeline.HeadConfig.defaults(MODEL).withOptions(new Pipeline.Options(2, Duration.ofSeconds(30))),
                    List.of())) {
                List<Message> stream = FakeModel.stream(5, 30, VOCAB);
                List<Message> answers = FakeModel.drive(pipeline, stream);
                int k = 0;
                for (Message m : stream) {
                    Result r = reference.apply(m);
                    if (r != null) assertEquals(r, answers.get(k++));
                }
            }
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }

    // ---- mutations ----

    static byte[] pick(Random random, List<byte[]> frames) {
        return frames.get(random.nextInt(frames.size())).clone();
    }

    /** One of eight ways a frame goes wrong; the body-level ones fix the checksum so the decoder sees them. */
    static byte[] mutate(Random random, byte[] f, int how) {
        ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
        int bodyLength = f.length - FrameType.HEADER_BYTES;
        switch (how) {
            case 0 -> f[random.nextInt(f.length)] ^= (byte) (1 << random.nextInt(8));        // bit flip, CRC catches
            case 1 -> {                                                                     // bit flips, CRC fixed
                for (int k = 1 + random.nextInt(4); k > 0 && bodyLength > 0; k--) {
                    f[FrameType.HEADER_BYTES + random.nextInt(bodyLength)] ^= (byte) (1 << random.nextInt(8));
                }
                fixChecksum(f);
            }
            case 2 -> b.putInt(0, switch (random.nextInt(3)) {                               // length: beyond 2 GiB,
                case 0 -> -1 - random.nextInt(1000);                                         // over the limit, or
                case 1 -> FRAME_LIMIT + 1 + random.nextInt(1 << 20);                         // allowed only after
                default -> TcpConnection.HANDSHAKE_FRAME_LIMIT + random.nextInt(FRAME_LIMIT - TcpConnection.HANDSHAKE_FRAME_LIMIT);
            });                                                                              // the handshake
            case 3 -> {                                                                     // any type byte
                f[4] = (byte) random.nextInt(256);
                fixChecksum(f);
            }
            case 4 -> {                                                                     // truncated
                return java.util.Arrays.copyOf(f, random.nextInt(f.length));
            }
            case 5 -> {                                                                     // an int field set to an extreme
                if (bodyLength >= 4) {
                    int[] extremes = {-1, Integer.MAX_VALUE, Integer.MIN_VALUE, 0, 1 << 30, 65536};
                    b.putInt(FrameType.HEADER_BYTES + random.nextInt(bodyLength - 3), extremes[random.nextInt(extremes.length)]);
                    fixChecksum(f);
                }
            }
            case 6 -> {                                                                     // body cut, length and CRC consistent
                int keep = bodyLength == 0 ? 0 : random.nextInt(bodyLength);
                f = java.util.Arrays.copyOf(f, FrameType.HEADER_BYTES + keep);
                ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putInt(0, keep);
                fixChecksum(f);
            }
            default -> {                                                                    // random bytes
                byte[] noise = new byte[1 + random.nextInt(64)];
                random.nextBytes(noise);
                return noise;
            }
        }
        return f;
    }

    static void fixChecksum(byte[] f) {
        if (f.length < FrameType.HEADER_BYTES) return;
        CRC32C crc = new CRC32C();
        crc.update(f[4] & 0xff);
        crc.update(f, FrameType.HEADER_BYTES, f.length - FrameType.HEADER_BYTES);
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putInt(5, (int) crc.getValue());
    }

    // ---- frames ----

    static Handshake.Hello hello(SessionRole role) {
        return Handshake.hello(role, 77, MODEL, 1, 2, 2, 4, WireType.F32, 0, "", false);
    }

    static byte[] frame(int type, java.util.function.Consumer<BodyWriter> fill) {
        try {
            BodyWriter body = new BodyWriter(64, FRAME_LIMIT);
            fill.accept(body);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            new FrameWriter(out).write(type, body);
            return out.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<byte[]> messageFrames(List<Message> messages) {
        List<byte[]> frames = new ArrayList<>();
        for (Message m : messages) frames.add(encoded(m));
        return frames;
    }

    static byte[] encoded(Message m) {
        try {
            BodyWriter body = new BodyWriter(64, FRAME_LIMIT);
            int type = MessageCodec.encode(m, body, m instanceof Run r && r.activations() != null ? WireType.BF16 : WireType.F32);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            new FrameWriter(out).write(type, body);
            return out.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Run tokensRun() {
        return Run.ofTokens(new RunHeader(5, RunKind.SPECULATIVE, new int[]{0, 1, 2}, new long[]{1, 3, 3}, new int[]{1, 2},
                ResultForm.topK(2)), new int[]{4, 5, 6});
    }

    static Run activationsRun() {
        float[] values = new float[3 * EMBD];
        for (int i = 0; i < values.length; i++) values[i] = i * 0.25f - 2;
        return Run.ofActivations(new RunHeader(6, RunKind.PROMPT, new int[]{0, 1, 2}, new long[]{1, 1, 1}, new int[]{2},
                ResultForm.ARGMAX), Activations.wrap(values, 3, EMBD));
    }

    // ---- delivery ----

    /** Writes bytes on a fresh connection, half-closes, and waits for the worker to close its side. */
    static void sendRaw(WorkerServer worker, byte[] bytes, Random random) throws IOException {
        try (Socket s = new Socket(worker.address().getAddress(), worker.address().getPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            try {
                out.write(bytes);
                out.flush();
                // Now and then leave it open: the worker must still end it (handshake timeout).
                if (random.nextInt(200) != 0) s.shutdownOutput();
            } catch (IOException ignored) {
                // the worker may have closed already
            }
            drainUntilClosed(s);
        }
    }

    /** Completes a real handshake, then sends the mutated frame on the authenticated connection. */
    static void sendAfterHandshake(WorkerServer worker, SessionRole role, byte[] bytes) throws IOException {
        try (Socket s = new Socket(worker.address().getAddress(), worker.address().getPort());
             TcpConnection conn = new TcpConnection(s, FRAME_LIMIT, new ActivationPool())) {
            Handshake.client(conn, hello(role), null);
            s.setSoTimeout(10_000);
            try {
                s.getOutputStream().write(bytes);
                s.getOutputStream().flush();
                s.shutdownOutput();
            } catch (IOException ignored) {
                // closed by the worker already
            }
            drainUntilClosed(s);
        }
    }

    /** Opens a session, connects as the stage's upstream, and sends the mutated frame as data. */
    static void fuzzDataInput(WorkerServer worker, byte[] bytes) throws IOException {
        try (Socket session = new Socket(worker.address().getAddress(), worker.address().getPort());
             TcpConnection control = new TcpConnection(session, FRAME_LIMIT, new ActivationPool())) {
            Handshake.client(control, hello(SessionRole.SESSION), null);
            try (Socket data = new Socket(worker.address().getAddress(), worker.address().getPort());
                 TcpConnection upstream = new TcpConnection(data, FRAME_LIMIT, new ActivationPool())) {
                Handshake.client(upstream, hello(SessionRole.DATA), null);
                try {
                    data.getOutputStream().write(bytes);
                    data.getOutputStream().flush();
                } catch (IOException ignored) {
                    // closed already
                }
                // Leave at once: the frame is read (and decoded) before the end of the stream.
            }
        }
    }

    static void drainUntilClosed(Socket s) {
        try {
            InputStream in = s.getInputStream();
            byte[] sink = new byte[4096];
            while (in.read(sink) >= 0) {
                // discard the worker's answer (a Challenge, a Refused, a Pong ...)
            }
        } catch (IOException ignored) {
            // reset or timeout: closed either way
        }
    }

    static void waitUntilIdle(WorkerServer worker) throws InterruptedException {
        for (int i = 0; i < 1000 && worker.hasActiveSession(); i++) Thread.sleep(1);
    }
}
