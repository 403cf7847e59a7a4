package dev.pipeinfer.net;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Encodes a frame body into a reusable little-endian buffer that grows as needed (up to the frame
 * limit) and is kept for the next frame, so steady-state sending allocates nothing.
 */
final class BodyWriter {
    private final int maxBytes;
    private ByteBuffer buffer;

    BodyWriter(int initialBytes, int maxBytes) {
        this.maxBytes = maxBytes;
        this.buffer = ByteBuffer.allocate(Math.min(initialBytes, maxBytes)).order(ByteOrder.LITTLE_ENDIAN);
    }

    void clear() {
        buffer.clear();
    }

    /** The encoded body, from 0 to the current position. */
    ByteBuffer buffer() {
        return buffer;
    }

    int size() {
        return buffer.position();
    }

    void ensure(long more) {
        long needed = buffer.position() + more;
        if (needed > maxBytes) {
            throw new IllegalArgumentException("message of at least " + needed + " bytes exceeds the frame limit of "
                    + maxBytes + " bytes");
        }
        if (needed > buffer.capacity()) {
            int capacity = (int) Math.min(maxBytes, Math.max(needed, 2L * buffer.capacity()));
            ByteBuffer bigger = ByteBuffer.allocate(capacity).order(ByteOrder.LITTLE_ENDIAN);
            buffer.flip();
            bigger.put(buffer);
            buffer = bigger;
        }
    }

    BodyWriter u8(int v) {
        ensure(1);
        buffer.put((byte) v);
        return this;
    }

    BodyWriter i32(int v) {
        ensure(4);
        buffer.putInt(v);
        return this;
    }

    BodyWriter i64(long v) {
        ensure(8);
        buffer.putLong(v);
        return this;
    }

    BodyWriter f32(float v) {
        ensure(4);
        buffer.putFloat(v);
        return this;
    }

    BodyWriter bytes(byte[] b) {
        i32(b.length);
        ensure(b.length);
        buffer.put(b);
        return this;
    }

    BodyWriter string(String s) {
        return bytes(s.getBytes(StandardCharsets.UTF_8));
    }

    BodyWriter ints(int[] values) {
        i32(values.length);
        ensure(4L * values.length);
        buffer.asIntBuffer().put(values);
        buffer.position(buffer.position() + 4 * values.length);
        return this;
    }

    BodyWriter longs(long[] values) {
        i32(values.length);
        ensure(8L * values.length);
        buffer.asLongBuffer().put(values);
        buffer.position(buffer.position() + 8 * values.length);
        return this;
    }

    /** Values {@code [0, length)} of {@code values} in the given wire type, without a count. */
    BodyWriter floats(float[] values, int length, WireType wire) {
        ensure((long) length * wire.bytesPerValue());
        switch (wire) {
            case F32 -> {
                buffer.asFloatBuffer().put(values, 0, length);
                buffer.position(buffer.position() + 4 * length);
            }
            case F16 -> {
                for (int i = 0; i < length; i++) buffer.putShort(Float.floatToFloat16(values[i]));
            }
            case BF16 -> {
                for (int i = 0; i < length; i++) buffer.putShort(WireType.toBf16(values[i]));
            }
        }
        return this;
    }

    BodyWriter floats(float[] values) {
        i32(values.length);
        return floats(values, values.length, WireType.F32);
    }
}
