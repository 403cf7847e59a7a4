package dev.pipeinfer.net;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Decodes a frame body, checking every count against the bytes actually left before allocating an
 * array for it, so a hostile length field costs an error message, not memory. Errors name the frame
 * type, the field and the offset.
 */
final class BodyReader {
    private final ByteBuffer body;
    private final String frame;

    BodyReader(ByteBuffer body, String frame) {
        this.body = body;
        this.frame = frame;
    }

    ProtocolException error(String field, String problem) {
        return new ProtocolException(frame + " frame, field " + field + " at offset " + body.position() + ": " + problem);
    }

    private void need(long bytes, String field) throws ProtocolException {
        if (bytes > body.remaining()) {
            throw error(field, "needs " + bytes + " bytes but only " + body.remaining() + " remain");
        }
    }

    int u8(String field) throws ProtocolException {
        need(1, field);
        return body.get() & 0xff;
    }

    /** A one-byte enum ordinal below {@code count}. */
    int enumOrdinal(String field, int count) throws ProtocolException {
        int at = body.position();
        int v = u8(field);
        if (v >= count) {
            throw new ProtocolException(frame + " frame, field " + field + " at offset " + at + ": unknown value " + v);
        }
        return v;
    }

    int i32(String field) throws ProtocolException {
        need(4, field);
        return body.getInt();
    }

    /** An int in [min, max]. */
    int i32(String field, int min, int max) throws ProtocolException {
        int at = body.position();
        int v = i32(field);
        if (v < min || v > max) {
            throw new ProtocolException(frame + " frame, field " + field + " at offset " + at + ": " + v
                    + " outside [" + min + ", " + max + "]");
        }
        return v;
    }

    long i64(String field) throws ProtocolException {
        need(8, field);
        return body.getLong();
    }

    float f32(String field) throws ProtocolException {
        need(4, field);
        return body.getFloat();
    }

    /** A count of elements of {@code elementBytes} each that must fit in what is left of the body. */
    int count(String field, int elementBytes) throws ProtocolException {
        int at = body.position();
        int n = i32(field);
        if (n < 0 || (long) n * elementBytes > body.remaining()) {
            throw new ProtocolException(frame + " frame, field " + field + " at offset " + at + ": count " + n
                    + " of " + elementBytes + "-byte elements does not fit in the " + body.remaining() + " bytes left");
        }
        return n;
    }

    byte[] bytes(String field, int maxLength) throws ProtocolException {
        int n = count(field, 1);
        if (n > maxLength) throw error(field, n + " bytes, more than the " + maxLength + " allowed");
        byte[] b = new byte[n];
        body.get(b);
        return b;
    }

    String string(String field, int maxLength) throws ProtocolException {
        byte[] b = bytes(field, maxLength);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw error(field, "not UTF-8");
        }
    }

    int[] ints(String field) throws ProtocolException {
        int n = count(field, 4);
        int[] values = new int[n];
        body.asIntBuffer().get(values);
        body.position(body.position() + 4 * n);
        return values;
    }

    long[] longs(String field) throws ProtocolException {
        int n = count(field, 8);
        long[] values = new long[n];
        body.asLongBuffer().get(values);
        body.position(body.position() + 8 * n);
        return values;
    }

    float[] floats(String field) throws ProtocolException {
        int n = count(field, 4);
        float[] values = new float[n];
        readFloats(field, values, n, WireType.F32);
        return values;
    }

    /** {@code length} values in the given wire type into {@code into[0, length)}. */
    void readFloats(String field, float[] into, int length, WireType wire) throws ProtocolException {
        need((long) length * wire.bytesPerValue(), field);
        switch (wire) {
            case F32 -> {
                body.asFloatBuffer().get(into, 0, length);
                body.position(body.position() + 4 * length);
            }
            case F16 -> {
                for (int i = 0; i < length; i++) into[i] = Float.float16ToFloat(body.getShort());
            }
            case BF16 -> {
                for (int i = 0; i < length; i++) into[i] = WireType.fromBf16(body.getShort());
            }
        }
    }

    /** The whole body, independent of the read position. */
    ByteBuffer raw() {
        return body.duplicate().position(0);
    }

    int remaining() {
        return body.remaining();
    }

    void expectEnd() throws ProtocolException {
        if (body.hasRemaining()) throw error("end", body.remaining() + " unexpected trailing bytes");
    }
}
