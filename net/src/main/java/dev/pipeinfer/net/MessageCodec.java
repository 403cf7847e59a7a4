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

import java.util.ArrayList;
import java.util.List;

/**
 * Frame bodies of the pipeline messages (DESIGN section 5), little-endian. Run activations go in the
 * link's {@link WireType}; result logits and probabilities always as f32. Decoding validates every
 * field and turns any inconsistency into a {@link ProtocolException} naming it.
 */
final class MessageCodec {
    static final int MAX_TEXT = 4096;
    static final int MAX_WIDTH = 1 << 20;

    /** Encodes {@code m} into {@code w} (cleared first) and returns its frame type. */
    static int encode(Message m, BodyWriter w, WireType wire) {
        w.clear();
        switch (m) {
            case Run run -> {
                RunHeader h = run.header();
                w.i64(h.runId()).u8(h.kind().ordinal()).ints(h.positions()).longs(h.sequenceSets()).ints(h.outputRows())
                        .u8(h.resultForm().mode().ordinal()).i32(h.resultForm().topK());
                if (run.tokens() != null) {
                    w.u8(0).ints(run.tokens());
                } else {
                    Activations a = run.activations();
                    w.u8(1).i32(a.width()).u8(wire.ordinal()).floats(a.data(), a.length(), wire);
                }
                return FrameType.RUN;
            }
            case KvEdit edit -> {
                w.i32(edit.ops().size());
                for (KvEdit.Op op : edit.ops()) {
                    switch (op) {
                        case KvEdit.Commit c -> w.u8(0).i32(c.src()).i32(c.dst()).i32(c.p0()).i32(c.p1());
                        case KvEdit.Remove r -> w.u8(1).i32(r.seq()).i32(r.p0()).i32(r.p1());
                        case KvEdit.Keep k -> w.u8(2).i32(k.seq());
                    }
                }
                return FrameType.KV_EDIT;
            }
            case Result r -> {
                w.i64(r.runId()).u8(r.form().mode().ordinal()).i32(r.form().topK()).ints(r.rows()).ints(r.argmax())
                        .ints(r.topIds()).floats(r.topProbs()).i32(r.vocabSize()).floats(r.logits());
                return FrameType.RESULT;
            }
            case Message.Cancel c -> {
                w.longs(c.runIds());
                return FrameType.CANCEL;
            }
            case Message.Cancelled c -> {
                w.i64(c.runId()).i32(c.droppedAtStage());
                return FrameType.CANCELLED;
            }
            case Message.Barrier b -> {
                w.i64(b.id());
                return FrameType.BARRIER;
            }
            case Message.Failure f -> {
                w.i32(f.stageIndex()).string(clip(f.where())).string(clip(f.reason()));
                return FrameType.FAILURE;
            }
            case Message.Ping p -> {
                w.i64(p.nonce());
                return FrameType.PING;
            }
            case Message.Pong p -> {
                w.i64(p.nonce()).i32(p.stageIndex()).i64(p.processed()).i64(p.busyMillis());
                return FrameType.PONG;
            }
            case Message.StatsRequest s -> {
                w.i64(s.nonce());
                return FrameType.STATS_REQUEST;
            }
            case Message.StatsReply s -> {
                StageStats t = s.stats();
                w.i64(s.nonce()).i32(t.stageIndex()).i64(t.computeNanos()).i64(t.idleNanos())
                        .i64(t.cancelledComputeNanos()).i64(t.bytesReceived()).i64(t.bytesSent())
                        .i64(t.runsExecuted()).i64(t.runsCancelled()).i64(t.kvEdits()).i64(t.heapUsedBytes())
                        .i64(t.residentBytes());
                return FrameType.STATS_REPLY;
            }
            case Message.Shutdown s -> {
                return FrameType.SHUTDOWN;
            }
        }
    }

    private static String clip(String s) {
        // Text fields are bounded on the receiving side; cut long ones here rather than fail.
        return s.length() > MAX_TEXT / 4 ? s.substring(0, MAX_TEXT / 4) : s;
    }

    /** Decodes a pipeline message body; activation buffers come from {@code pool}. */
    static Message decode(int type, BodyReader r, ActivationPool pool) throws ProtocolException {
        Message m = switch (type) {
            case FrameType.RUN -> decodeRun(r, pool);
            case FrameType.KV_EDIT -> decodeKvEdit(r);
            case FrameType.RESULT -> decodeResult(r);
            case FrameType.CANCEL -> {
                long[] ids = r.longs("run ids");
                if (ids.length == 0) throw r.error("run ids", "empty");
                yield new Message.Cancel(ids);
            }
            case FrameType.CANCELLED -> new Message.Cancelled(r.i64("run id"), r.i32("stage", 0, Integer.MAX_VALUE));
            case FrameType.BARRIER -> new Message.Barrier(r.i64("barrier id"));
            case FrameType.FAILURE -> new Message.Failure(r.i32("stage", 0, Integer.MAX_VALUE),
                    r.string("where", MAX_TEXT), r.string("reason", MAX_TEXT));
            case FrameType.PING -> new Message.Ping(r.i64("nonce"));
            case FrameType.PONG -> new Message.Pong(r.i64("nonce"), r.i32("stage", 0, Integer.MAX_VALUE),
                    r.i64("processed"), r.i64("busy ms"));
            case FrameType.STATS_REQUEST -> new Message.StatsRequest(r.i64("nonce"));
            case FrameType.STATS_REPLY -> new Message.StatsReply(r.i64("nonce"), new StageStats(
                    r.i32("stage", 0, Integer.MAX_VALUE), r.i64("compute ns"), r.i64("idle ns"),
                    r.i64("cancelled compute ns"), r.i64("bytes received"), r.i64("bytes sent"),
                    r.i64("runs executed"), r.i64("runs cancelled"), r.i64("KV edits"), r.i64("heap bytes"),
                    r.i64("resident bytes")));
            case FrameType.SHUTDOWN -> new Message.Shutdown();
            default -> throw new ProtocolException("a " + FrameType.name(type) + " frame is not a pipeline message here");
        };
        try {
            r.expectEnd();
        } catch (ProtocolException e) {
            if (m instanceof Run run) run.release();
            throw e;
        }
        return m;
    }

    private static Run decodeRun(BodyReader r, ActivationPool pool) throws ProtocolException {
        long runId = r.i64("run id");
        RunKind kind = RunKind.values()[r.enumOrdinal("kind", RunKind.values().length)];
        int[] positions = r.ints("positions");
        long[] sets = r.longs("sequence sets");
        int[] outputs = r.ints("output rows");
        ResultForm.Mode mode = ResultForm.Mode.values()[r.enumOrdinal("result form", ResultForm.Mode.values().length)];
        int topK = r.i32("top-k");
        RunHeader header;
        try {
            header = new RunHeader(runId, kind, positions, sets, outputs, new ResultForm(mode, topK));
        } catch (IllegalArgumentException e) {
            throw r.error("run header", e.getMessage());
        }
        int payload = r.u8("payload kind");
        if (payload == 0) {
            int[] tokens = r.ints("tokens");
            if (tokens.length != positions.length) {
                throw r.error("tokens", tokens.length + " token ids for " + positions.length + " rows");
            }
            return Run.ofTokens(header, tokens);
        }
        if (payload != 1) throw r.error("payload kind", "unknown payload kind " + payload);
        int width = r.i32("n_embd", 1, MAX_WIDTH);
        WireType wire = WireType.ofCode(r.u8("wire type"));
        long values = (long) positions.length * width;
        if (values * wire.bytesPerValue() != r.remaining()) {
            throw r.error("activations", positions.length + " x " + width + " " + wire + " values need "
                    + values * wire.bytesPerValue() + " bytes, the frame has " + r.remaining());
        }
        Activations a = pool.acquire(positions.length, width);
        r.readFloats("activations", a.data(), a.length(), wire);
        return Run.ofActivations(header, a);
    }

    private static KvEdit decodeKvEdit(BodyReader r) throws ProtocolException {
        int n = r.count("op count", 5);
        if (n == 0) throw r.error("op count", "no operations");
        List<KvEdit.Op> ops = new ArrayList<>(n);
        try {
            for (int i = 0; i < n; i++) {
                int kind = r.u8("op kind");
                ops.add(switch (kind) {
                    case 0 -> new KvEdit.Commit(r.i32("src"), r.i32("dst"), r.i32("p0"), r.i32("p1"));
                    case 1 -> new KvEdit.Remove(r.i32("seq"), r.i32("p0"), r.i32("p1"));
                    case 2 -> new KvEdit.Keep(r.i32("seq"));
                    default -> throw r.error("op kind", "unknown KV operation " + kind);
                });
            }
        } catch (IllegalArgumentException e) {
            throw r.error("KV op", e.getMessage());
        }
        return new KvEdit(ops);
    }

    private static Result decodeResult(BodyReader r) throws ProtocolException {
        long runId = r.i64("run id");
        ResultForm.Mode mode = ResultForm.Mode.values()[r.enumOrdinal("result form", ResultForm.Mode.values().length)];
        int topK = r.i32("top-k");
        int[] rows = r.ints("rows");
        int[] argmax = r.ints("argmax");
        int[] topIds = r.ints("top ids");
        float[] topProbs = r.floats("top probabilities");
        int vocab = r.i32("vocabulary size");
        float[] logits = r.floats("logits");
        try {
            return new Result(runId, new ResultForm(mode, topK), rows, argmax, topIds, topProbs, vocab, logits);
        } catch (IllegalArgumentException e) {
            throw r.error("result", e.getMessage());
        }
    }

    private MessageCodec() {
    }
}
