package dev.pipeinfer.net;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/** Writes one frame at a time from a {@link BodyWriter}: header with length, type and CRC32C, then the body. */
final class FrameWriter {
    private final OutputStream out;
    private final byte[] header = new byte[FrameType.HEADER_BYTES];
    private final ByteBuffer headerView = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
    private final CRC32C crc = new CRC32C();
    private long bytesWritten;

    FrameWriter(OutputStream out) {
        this.out = out;
    }

    void write(int type, BodyWriter body) throws IOException {
        ByteBuffer b = body.buffer();
        int n = body.size();
        crc.reset();
        crc.update(type);
        crc.update(b.array(), 0, n);
        headerView.putInt(0, n);
        header[4] = (byte) type;
        headerView.putInt(5, (int) crc.getValue());
        out.write(header);
        out.write(b.array(), 0, n);
        out.flush();
        bytesWritten += FrameType.HEADER_BYTES + n;
    }

    long bytesWritten() {
        return bytesWritten;
    }
}
