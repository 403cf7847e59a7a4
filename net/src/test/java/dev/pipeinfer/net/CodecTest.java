package dev.pipeinfer.net;

import dev.pipeinfer.pipeline.ActivationPool;
import dev.pipeinfer.pipeline.Activations;
import dev.pipeinfer.pipeline.KvEdit;
import dev.pipeinfer.pipeline.Message;
import dev.pipeinfer.pipeline.Result;
import dev.pipeinfer.pipeline.ResultForm;
import dev.pipeinfer.pipeline.Run;
import dev.pipeinfer.pipeline.RunHeader;
import dev.pipeinfer.pipeline.RunKind;
import dev.pipeinfer.pipeline.StageStats;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every message survives encode -> frame -> decode; malformed frames are refused with a reason. */
class CodecTest {
    final ActivationPool pool = new ActivationPool();

    static RunHeader header(ResultForm form) {
        return new RunHeader(42, RunKind.SPECULATIVE, new int[]{7, 8, 9}, new long[]{1, 0b110, Long.MIN_VALUE},
                new int[]{0, 2}, form);
    }

    /** Encodes into a frame, reads it back through a FrameReader, decodes. */
    Message roundTrip(Message m, WireType wire) throws IOException {
        BodyWriter body = new BodyWriter(16, 1 << 20);
        int type = MessageCodec.encode(m, body, wire);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new FrameWriter(bytes).write(type, body);
        FrameReader reader = new FrameReader(new ByteArrayInputStream(bytes.toByteArray()), 1 << 20);
        ByteBuffer frame = reader.next();
        assertEquals(type, reader.type());
        return MessageCodec.decode(type, new BodyReader(frame, FrameType.name(type)), pool);
    }

    @Test
    void controlAndDataMessagesRoundTripExactly() throws IOException {
        List<Message> messages = List.of(
                KvEdit.of(new KvEdit.Commit(3, 0, 10, 14), new KvEdit.Remove(5, 0, Integer.MAX_VALUE), new KvEdit.Keep(0)),
                new Result(42, ResultForm.ARGMAX, new int[]{0, 2}, new int[]{17, 3}, new int[0], new float[0], 0, new float[0]),
                new Result(42, ResultForm.topK(2), new int[]{1}, new int[]{5}, new int[]{5, 9}, new float[]{0.75f, 0.125f}, 0, new float[0]),
                new Result(42, ResultForm.LOGITS, new int[]{0}, new int[]{1}, new int[0], new float[0], 3, new float[]{-1f, 2.5f, Float.MIN_VALUE}),
                new Message.Cancel(new long[]{4, 5, Long.MAX_VALUE}),
                new Message.Cancelled(99, 3),
                new Message.Barrier(Long.MAX_VALUE),
                new Message.Failure(2, "10.0.0.7:7070", "tensor blk.3.ffn_up.weight: read error ✓"),
                new Message.Ping(-7),
                new Message.Pong(-7, 3, 1234, -1),
                new Message.StatsRequest(11),
                new Message.StatsReply(11, new StageStats(3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)),
                new Message.Shutdown());
        for (Message m : messages) assertEquals(m, roundTrip(m, WireType.F32), m.toString());
    }

    @Test
    void runsWithTokensRoundTrip() throws IOException {
        Run run = Run.ofTokens(header(ResultForm.topK(4)), new int[]{1, 31999, 0});
        Run back = (Run) roundTrip(run, WireType.F32);
        assertEquals(run.header(), back.header());
        assertArrayEquals(run.tokens(), back.tokens());
    }

    @Test
    void f32ActivationsAreBitExact() throws IOException {
        float[] values = {0f, -0f, 1e-40f, Float.MAX_VALUE, -3.14159f, Float.NaN, Float.POSITIVE_INFINITY, 1 / 3f, 65504f,
                1e-8f, -2.5f, 7f};
        Run back = (Run) roundTrip(Run.ofActivations(header(ResultForm.LOGITS), Activations.wrap(values.clone(), 3, 4)),
                WireType.F32);
        assertEquals(3, back.activations().rows());
        assertEquals(4, back.activations().width());
        for (int i = 0; i < values.length; i++) {
            assertEquals(Float.floatToRawIntBits(values[i]), Float.floatToRawIntBits(back.activations().data()[i]), "value " + i);
        }
    }

    @Test
    void f16ActivationsRoundToTheNearestHalf() throws IOException {
        float[] values = {1f, -2f, 0.5f, 65504f, 1 / 3f, 1e-3f, 0.1f, 100000f, -0f, 1 + 1 / 2048f, 1 + 3 / 2048f, 6e-8f};
        Run back = (Run) roundTrip(Run.ofActivations(header(ResultForm.ARGMAX), Activations.wrap(values.clone(), 3, 4)),
                WireType.F16);
        float[] got = back.activations().data();
        // exactly representable values survive
        for (int i : new int[]{0, 1, 2, 3, 8}) assertEquals(values[i], got[i], "value " + i);
        assertEquals(0.333251953125f, got[4]);           // nearest f16 to 1/3
        assertEquals(Float.POSITIVE_INFINITY, got[7]);   // above the f16 range
        assertEquals(1f, got[9], "halfway rounds to even (down)");
        assertEquals(1 + 4 / 2048f, got[10], "halfway rounds to even (up)");
        assertEquals(5.9604645e-8f, got[11], "subnormal f16");
        for (int i = 0; i < values.length; i++) {
            if (i != 7) assertEquals(values[i], got[i], Math.abs(values[i]) / 1024 + 6e-8f, "value " + i);
        }
    }

    @Test
    void bf16ActivationsKeepTheExponentAndRoundTheMantissa() throws IOException {
        float[] values = {1f, -2f, 3e38f, 1e-30f, 1 / 3f, Float.NaN, 1 + 1 / 256f, 1 + 3 / 256f, 0f};
        Run back = (Run) roundTrip(Run.ofActivations(header(ResultForm.ARGMAX), Activations.wrap(values.clone(), 3, 3)),
                WireType.BF16);
        float[] got = back.activations().data();
        assertEquals(1f, got[0]);
        assertEquals(-2f, got[1]);
        assertEquals(3e38f, got[2], 3e38f / 128);
        assertEquals(1e-30f, got[3], 1e-30f / 128);
        assertEquals(0.333984375f, got[4], "nearest bf16 to 1/3");
        assertTrue(Float.isNaN(got[5]));
        assertEquals(1f, got[6], "halfway rounds to even (down)");
        assertEquals(1 + 4 / 256f, got[7], "halfway rounds to even (up)");
    }

    @Test
    void truncatedAndPaddedBodiesNameTheField() {
        BodyWriter body = new BodyWriter(16, 1 << 20);
        MessageCodec.encode(new Message.Pong(1, 2, 3, 4), body, WireType.F32);
        ByteBuffer full = ByteBuffer.wrap(body.buffer().array(), 0, body.size()).order(ByteOrder.LITTLE_ENDIAN);
        ProtocolException shortBody = assertThrows(ProtocolException.class, () -> MessageCodec.decode(FrameType.PONG,
                new BodyReader(full.slice(0, 10).order(ByteOrder.LITTLE_ENDIAN), "Pong"), pool));
        assertTrue(shortBody.getMessage().contains("field stage"), shortBody.getMessage());

        ByteBuffer padded = ByteBuffer.allocate(body.size() + 3).order(ByteOrder.LITTLE_ENDIAN);
        padded.put(full.duplicate()).flip().limit(body.size() + 3);
        ProtocolException trailing = assertThrows(ProtocolException.class, () -> MessageCodec.decode(FrameType.PONG,
                new BodyReader(padded, "Pong"), pool));
        assertTrue(trailing.getMessage().contains("trailing"), trailing.getMessage());
    }

    @Test
    void aHugeCountIsRefusedBeforeAnythingIsAllocated() {
        // A Cancel claiming 2^31-1 run ids in a 12-byte body.
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(Integer.MAX_VALUE).putLong(5).flip();
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> MessageCodec.decode(FrameType.CANCEL, new BodyReader(b, "Cancel"), pool));
        assertTrue(e.getMessage().contains("run ids") && e.getMessage().contains("does not fit"), e.getMessage());
    }

    @Test
    void anInvalidRunHeaderIsAProtocolError() throws IOException {
        BodyWriter body = new BodyWriter(16, 1 << 20);
        int type = MessageCodec.encode(Run.ofTokens(header(ResultForm.ARGMAX), new int[]{1, 2, 3}), body, WireType.F32);
        // positions start right after run id (8) and kind (1), after their count (4): make row 0 negative
        body.buffer().putInt(13, -5);
        ByteBuffer frame = ByteBuffer.wrap(body.buffer().array(), 0, body.size()).order(ByteOrder.LITTLE_ENDIAN);
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> MessageCodec.decode(type, new BodyReader(frame, "Run"), pool));
        assertTrue(e.getMessage().contains("negative position"), e.getMessage());
    }

    @Test
    void framesAreCheckedForLengthTypeAndChecksumBeforeTheBodyIsUsed() throws IOException {
        BodyWriter body = new BodyWriter(16, 1 << 20);
        int type = MessageCodec.encode(new Message.Ping(5), body, WireType.F32);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new FrameWriter(out).write(type, body);
        byte[] good = out.toByteArray();

        byte[] badCrc = good.clone();
        badCrc[badCrc.length - 1] ^= 1;
        ProtocolException crc = assertThrows(ProtocolException.class, () -> read(badCrc, 1 << 20));
        assertTrue(crc.getMessage().contains("checksum"), crc.getMessage());

        byte[] unknown = good.clone();
        unknown[4] = (byte) 0x7f;
        ProtocolException type7f = assertThrows(ProtocolException.class, () -> read(unknown, 1 << 20));
        assertTrue(type7f.getMessage().contains("unknown frame type 0x7f"), type7f.getMessage());

        byte[] huge = good.clone();
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(0, -1); // 4 GiB - 1
        FrameReader reader = new FrameReader(new ByteArrayInputStream(huge), 1 << 20);
        ProtocolException size = assertThrows(ProtocolException.class, reader::next);
        assertTrue(size.getMessage().contains("4294967295 bytes") && size.getMessage().contains("exceeds the limit"),
                size.getMessage());
        assertTrue(reader.bufferCapacity() <= 256, "nothing was allocated for it");

        ProtocolException cut = assertThrows(ProtocolException.class, () -> read(java.util.Arrays.copyOf(good, good.length - 2), 1 << 20));
        assertTrue(cut.getMessage().contains("stream ended inside"), cut.getMessage());
        assertThrows(EOFException.class, () -> read(new byte[0], 1 << 20));
    }

    private static void read(byte[] bytes, int limit) throws IOException {
        new FrameReader(new ByteArrayInputStream(bytes), limit).next();
    }
}
