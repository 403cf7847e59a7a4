package dev.pipeinfer.net;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * Reads frames ({@link FrameType} layout) from a stream into one reusable buffer. The body length is
 * checked against the current limit before the buffer grows, the type before the body is read, and
 * the checksum before the body is decoded. The limit can be lowered (e.g. during the handshake, so an
 * unauthenticated peer cannot make this side allocate more than a few kilobytes).
 */
final class FrameReader {
    private final InputStream in;
    private final int maxFrameBytes;
    private int limit;
    private final byte[] header = new byte[FrameType.HEADER_BYTES];
    private final ByteBuffer headerView = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
    private byte[] body = new byte[256];
    private final CRC32C crc = new CRC32C();
    private long bytesRead;
    private int type;

    FrameReader(InputStream in, int maxFrameBytes) {
        this.in = in;
        this.maxFrameBytes = maxFrameBytes;
        this.limit = maxFrameBytes;
    }

    /** Frames longer than this are refused from now on (at most the configured maximum). */
    void limit(int bytes) {
        this.limit = Math.min(bytes, maxFrameBytes);
    }

    /** Type of the frame last read. */
    int type() {
        return type;
    }

    /** Largest body buffer ever held: never more than the frame limit. */
    int bufferCapacity() {
        return body.length;
    }

    long bytesRead() {
        return bytesRead;
    }

    /**
     * Reads the next frame and returns its body (little-endian, positioned at 0). Throws
     * {@link EOFException} if the stream ends cleanly between frames, {@link ProtocolException} for a
     * malformed frame.
     */
    ByteBuffer next() throws IOException {
        int got = in.readNBytes(header, 0, header.length);
        if (got == 0) throw new EOFException("connection closed by peer");
        if (got < header.length) throw new ProtocolException("stream ended inside a frame header (" + got + " of "
                + header.length + " bytes)");
        long length = headerView.getInt(0) & 0xffffffffL;
        type = header[4] & 0xff;
        int checksum = headerView.getInt(5);
        if (length > limit) {
            throw new ProtocolException("frame of " + length + " bytes (type " + FrameType.name(type)
                    + ") exceeds the limit of " + limit + " bytes");
        }
        if (!FrameType.isKnown(type)) {
            throw new ProtocolException("unknown frame type " + FrameType.name(type) + " (" + length + " bytes)");
        }
        int n = (int) length;
        if (body.length < n) body = new byte[Math.min(limit, Math.max(n, 2 * body.length))];
        int read = in.readNBytes(body, 0, n);
        if (read < n) {
            throw new ProtocolException("stream ended inside a " + FrameType.name(type) + " frame (" + read + " of "
                    + n + " body bytes)");
        }
        crc.reset();
        crc.update(type);
        crc.update(body, 0, n);
        if ((int) crc.getValue() != checksum) {
            throw new ProtocolException(String.format("checksum mismatch in a %s frame of %d bytes: header says %08x, "
                    + "body gives %08x", FrameType.name(type), n, checksum, (int) crc.getValue()));
        }
        bytesRead += FrameType.HEADER_BYTES + n;
        return ByteBuffer.wrap(body, 0, n).slice().order(ByteOrder.LITTLE_ENDIAN);
    }
}
