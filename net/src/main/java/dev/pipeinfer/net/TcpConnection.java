package dev.pipeinfer.net;

import dev.pipeinfer.pipeline.ActivationPool;
import dev.pipeinfer.pipeline.Message;
import dev.pipeinfer.pipeline.Run;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * One TCP connection speaking the frame protocol: a frame reader and writer with reusable buffers,
 * writes serialized (control replies and data may share a connection), activation payloads in the
 * connection's wire type. Reads happen on one thread at a time.
 */
public final class TcpConnection implements AutoCloseable {
    /** Frame limit while the peer is not yet authenticated. */
    static final int HANDSHAKE_FRAME_LIMIT = 64 * 1024;

    private final Socket socket;
    private final String peer;
    private final FrameReader reader;
    private final FrameWriter writer;
    private final BodyWriter body;
    private final ActivationPool pool;
    private final Object writeLock = new Object();
    private volatile WireType wire = WireType.F32;
    private volatile boolean closed;

    TcpConnection(Socket socket, int maxFrameBytes, ActivationPool pool) throws IOException {
        this.socket = socket;
        this.peer = socket.getInetAddress().getHostAddress() + ":" + socket.getPort();
        this.pool = pool;
        socket.setTcpNoDelay(true);
        this.reader = new FrameReader(new BufferedInputStream(socket.getInputStream(), 1 << 16), maxFrameBytes);
        this.writer = new FrameWriter(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
        this.body = new BodyWriter(4096, maxFrameBytes);
        reader.limit(HANDSHAKE_FRAME_LIMIT);
    }

    /** The other end, "host:port". */
    public String peer() {
        return peer;
    }

    void wireType(WireType wire) {
        this.wire = wire;
    }

    /** After the handshake: frames up to the configured maximum are accepted. */
    void authenticated() {
        reader.limit(Integer.MAX_VALUE);
    }

    void readTimeout(int millis) throws SocketException {
        socket.setSoTimeout(millis);
    }

    int readBufferCapacity() {
        return reader.bufferCapacity();
    }

    /** Sends a message; a Run's activation buffer is released once encoded. */
    public void send(Message m) throws IOException {
        try {
            synchronized (writeLock) {
                int type = MessageCodec.encode(m, body, wire);
                writer.write(type, body);
            }
        } finally {
            if (m instanceof Run run) run.release();
        }
    }

    /** Reads the next pipeline message. */
    public Message receive() throws IOException {
        ByteBuffer frame = reader.next();
        int type = reader.type();
        if (FrameType.isHandshake(type)) {
            if (type == FrameType.REFUSED) {
                throw new HandshakeException(peer + " ended the session: "
                        + new BodyReader(frame, "Refused").string("reason", MessageCodec.MAX_TEXT), true);
            }
            throw new ProtocolException("unexpected " + FrameType.name(type) + " frame after the handshake");
        }
        return MessageCodec.decode(type, new BodyReader(frame, FrameType.name(type)), pool);
    }

    /** Sends a handshake frame whose body {@code fill} writes. */
    void sendHandshake(int type, Consumer<BodyWriter> fill) throws IOException {
        synchronized (writeLock) {
            body.clear();
            fill.accept(body);
            writer.write(type, body);
        }
    }

    /** Reads a handshake frame of the expected type; a Refused frame becomes a {@link HandshakeException}. */
    BodyReader receiveHandshake(int expectedType) throws IOException {
        ByteBuffer frame = reader.next();
        int type = reader.type();
        BodyReader r = new BodyReader(frame, FrameType.name(type));
        if (type == FrameType.REFUSED) {
            throw new HandshakeException(peer + " refused: " + r.string("reason", MessageCodec.MAX_TEXT), true);
        }
        if (type != expectedType) {
            throw new ProtocolException("expected a " + FrameType.name(expectedType) + " frame from " + peer
                    + ", got " + FrameType.name(type));
        }
        return r;
    }

    /** Tells the peer why this side will not go on (best effort) and returns the exception to throw. */
    HandshakeException refuse(String reason) {
        try {
            sendHandshake(FrameType.REFUSED, w -> w.string(reason));
        } catch (IOException | RuntimeException ignored) {
            // the peer may already be gone; the refusal is still reported on this side
        }
        return new HandshakeException(reason, false);
    }

    public long bytesSent() {
        return writer.bytesWritten();
    }

    public long bytesReceived() {
        return reader.bytesRead();
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        closed = true;
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing left to do
        }
    }
}
