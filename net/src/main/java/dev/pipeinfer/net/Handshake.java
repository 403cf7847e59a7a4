package dev.pipeinfer.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * The opening of every connection (DESIGN sections 4-5):
 * <pre>
 *   client -> Hello      magic, protocol version, role, session id, model fingerprint, slice, options,
 *                        whether it has a cluster key, client nonce
 *   worker -> Challenge  magic, version, its fingerprint, whether it has a key, worker nonce,
 *                        worker proof = HMAC(key, "worker", nonces, SHA-256(Hello))   (or Refused)
 *   client -> Proof      client proof = HMAC(key, "head", nonces, SHA-256(Hello))      (or Refused)
 *   worker -> Welcome    what it serves                                                (or Refused)
 * </pre>
 * Both sides check the version, the fingerprint and the key; whichever side finds a mismatch sends
 * Refused with the reason and throws {@link HandshakeException}, and the other side throws it with
 * the same reason. Without cluster keys on both sides the proofs are empty.
 */
public final class Handshake {
    public static final int PROTOCOL_VERSION = 2; // 2: the Barrier message
    static final int MAGIC = 0x464e4950; // "PINF" little-endian
    static final int NONCE_BYTES = 32;
    private static final SecureRandom RANDOM = new SecureRandom();

    /** What the client asks for. For a DATA connection the slice fields repeat the session's. */
    public record Hello(int version, SessionRole role, long sessionId, String fingerprint, int stageIndex,
                        int stageCount, int firstLayer, int lastLayer, WireType wireType, int threads,
                        String nextHop, boolean keyed, byte[] nonce) {
    }

    /** The worker's answer once it accepted: a one-line description of what it serves. */
    public record Welcome(String description, int embeddingSize) {
    }

    // ---- client side ----

    /** Runs the client side; returns the worker's Welcome or throws {@link HandshakeException}. */
    static Welcome client(TcpConnection conn, Hello hello, ClusterKey key) throws IOException {
        byte[][] helloBytes = new byte[1][];
        conn.sendHandshake(FrameType.HELLO, w -> {
            writeHello(w, hello);
            helloBytes[0] = Arrays.copyOf(w.buffer().array(), w.size());
        });
        BodyReader c = conn.receiveHandshake(FrameType.CHALLENGE);
        if (c.i32("magic") != MAGIC) throw conn.refuse("the worker at " + conn.peer() + " is not a pipeinfer worker");
        int version = c.i32("version");
        if (version != PROTOCOL_VERSION) {
            throw conn.refuse("protocol version mismatch: head speaks " + PROTOCOL_VERSION + ", worker " + conn.peer()
                    + " speaks " + version);
        }
        String fingerprint = c.string("fingerprint", 256);
        boolean workerKeyed = c.u8("keyed") != 0;
        byte[] workerNonce = c.bytes("nonce", NONCE_BYTES);
        byte[] workerProof = c.bytes("proof", 64);
        c.expectEnd();
        if (!fingerprint.equals(hello.fingerprint())) {
            throw conn.refuse(fingerprintMismatch(hello.fingerprint(), fingerprint));
        }
        if ((key != null) != workerKeyed) {
            throw conn.refuse(key != null ? "cluster key mismatch: the head has a cluster key, the worker " + conn.peer()
                    + " has none" : "cluster key mismatch: the worker " + conn.peer() + " requires a cluster key, the head has none");
        }
        byte[] transcript = sha256(helloBytes[0]);
        if (key != null) {
            byte[] expected = key.prove("pipeinfer worker proof", hello.nonce(), workerNonce, transcript);
            if (!key.matches(expected, workerProof)) {
                throw conn.refuse("cluster key mismatch: the worker " + conn.peer() + " does not know the head's cluster key");
            }
        }
        byte[] proof = key == null ? new byte[0] : key.prove("pipeinfer head proof", hello.nonce(), workerNonce, transcript);
        conn.sendHandshake(FrameType.PROOF, w -> w.bytes(proof));
        BodyReader welcome = conn.receiveHandshake(FrameType.WELCOME);
        Welcome result = new Welcome(welcome.string("description", MessageCodec.MAX_TEXT),
                welcome.i32("n_embd", 0, MessageCodec.MAX_WIDTH));
        welcome.expectEnd();
        conn.wireType(hello.wireType());
        conn.authenticated();
        return result;
    }

    // ---- worker side ----

    /**
     * Reads and checks the Hello, then proves and checks knowledge of the key. Returns the Hello; the
     * caller then decides (busy? slice acceptable?) and calls {@link #welcome} or {@link TcpConnection#refuse}.
     */
    static Hello server(TcpConnection conn, String fingerprint, ClusterKey key) throws IOException {
        BodyReader r = conn.receiveHandshake(FrameType.HELLO);
        ByteBuffer raw = r.raw();
        byte[] helloBytes = new byte[raw.remaining()];
        raw.duplicate().get(helloBytes);
        if (r.i32("magic") != MAGIC) throw new ProtocolException("not a pipeinfer Hello (bad magic)");
        int version = r.i32("version");
        if (version != PROTOCOL_VERSION) {
            // Nothing after the version can be trusted to have our layout.
            throw conn.refuse("protocol version mismatch: head " + conn.peer() + " speaks " + version
                    + ", this worker speaks " + PROTOCOL_VERSION);
        }
        Hello hello = readHello(r, version);
        if (!hello.fingerprint().equals(fingerprint)) {
            throw conn.refuse(fingerprintMismatch(hello.fingerprint(), fingerprint));
        }
        if (key != null && !hello.keyed()) {
            throw conn.refuse("cluster key mismatch: this worker requires a cluster key, the head " + conn.peer() + " has none");
        }
        byte[] nonce = nonce();
        byte[] transcript = sha256(helloBytes);
        boolean keyed = key != null;
        byte[] proof = keyed ? key.prove("pipeinfer worker proof", hello.nonce(), nonce, transcript) : new byte[0];
        conn.sendHandshake(FrameType.CHALLENGE, w -> w.i32(MAGIC).i32(PROTOCOL_VERSION).string(fingerprint)
                .u8(keyed ? 1 : 0).bytes(nonce).bytes(proof));
        BodyReader p = conn.receiveHandshake(FrameType.PROOF);
        byte[] headProof = p.bytes("proof", 64);
        p.expectEnd();
        if (keyed) {
            byte[] expected = key.prove("pipeinfer head proof", hello.nonce(), nonce, transcript);
            if (!key.matches(expected, headProof)) {
                throw conn.refuse("cluster key mismatch: the head " + conn.peer() + " does not know this worker's cluster key");
            }
        }
        return hello;
    }

    static void welcome(TcpConnection conn, Hello hello, Welcome welcome) throws IOException {
        conn.sendHandshake(FrameType.WELCOME, w -> w.string(welcome.description()).i32(welcome.embeddingSize()));
        conn.wireType(hello.wireType());
        conn.authenticated();
    }

    static Hello hello(SessionRole role, long sessionId, String fingerprint, int stageIndex, int stageCount,
                       int firstLayer, int lastLayer, WireType wire, int threads, String nextHop, boolean keyed) {
        return new Hello(PROTOCOL_VERSION, role, sessionId, fingerprint, stageIndex, stageCount, firstLayer, lastLayer,
                wire, threads, nextHop, keyed, nonce());
    }

    static void writeHello(BodyWriter w, Hello h) {
        w.i32(MAGIC).i32(h.version()).u8(h.role().ordinal()).i64(h.sessionId()).string(h.fingerprint())
                .i32(h.stageIndex()).i32(h.stageCount()).i32(h.firstLayer()).i32(h.lastLayer())
                .u8(h.wireType().ordinal()).i32(h.threads()).string(h.nextHop()).u8(h.keyed() ? 1 : 0).bytes(h.nonce());
    }

    private static Hello readHello(BodyReader r, int version) throws ProtocolException {
        SessionRole role = SessionRole.values()[r.enumOrdinal("role", SessionRole.values().length)];
        long session = r.i64("session id");
        String fingerprint = r.string("fingerprint", 256);
        int stageIndex = r.i32("stage index", 0, 1 << 16);
        int stageCount = r.i32("stage count", 1, 1 << 16);
        int first = r.i32("first layer", 0, 1 << 20);
        int last = r.i32("last layer", 0, 1 << 20);
        WireType wire = WireType.ofCode(r.u8("wire type"));
        int threads = r.i32("threads", 0, 1 << 12);
        String nextHop = r.string("next hop", 256);
        boolean keyed = r.u8("keyed") != 0;
        byte[] nonce = r.bytes("nonce", NONCE_BYTES);
        r.expectEnd();
        if (stageIndex >= stageCount || last < first) {
            throw r.error("slice", "stage " + stageIndex + " of " + stageCount + ", layers [" + first + "," + last + ")");
        }
        if (nonce.length != NONCE_BYTES) throw r.error("nonce", nonce.length + " bytes, expected " + NONCE_BYTES);
        return new Hello(version, role, session, fingerprint, stageIndex, stageCount, first, last, wire, threads,
                nextHop, keyed, nonce);
    }

    private static String fingerprintMismatch(String head, String worker) {
        return "model fingerprint mismatch: head has " + head + ", worker has " + worker
                + " (both nodes must load the same GGUF file)";
    }

    private static byte[] nonce() {
        byte[] n = new byte[NONCE_BYTES];
        RANDOM.nextBytes(n);
        return n;
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private Handshake() {
    }
}
