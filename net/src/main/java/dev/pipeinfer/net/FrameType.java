package dev.pipeinfer.net;

/**
 * Frame type codes (DESIGN section 5). A frame on the wire is
 * <pre>
 *   u32 body length | u8 type | u32 CRC32C of (type, body) | body
 * </pre>
 * little-endian, with the body length checked against the receiver's limit before anything is
 * allocated.
 */
final class FrameType {
    static final int HEADER_BYTES = 9;

    // handshake
    static final int HELLO = 1, CHALLENGE = 2, PROOF = 3, WELCOME = 4, REFUSED = 5;
    // pipeline messages
    static final int RUN = 16, KV_EDIT = 17, RESULT = 18, CANCEL = 19, CANCELLED = 20, FAILURE = 21,
            PING = 22, PONG = 23, STATS_REQUEST = 24, STATS_REPLY = 25, SHUTDOWN = 26, BARRIER = 27;

    static boolean isKnown(int type) {
        return type >= HELLO && type <= REFUSED || type >= RUN && type <= BARRIER;
    }

    static boolean isHandshake(int type) {
        return type >= HELLO && type <= REFUSED;
    }

    static String name(int type) {
        return switch (type) {
            case HELLO -> "Hello";
            case CHALLENGE -> "Challenge";
            case PROOF -> "Proof";
            case WELCOME -> "Welcome";
            case REFUSED -> "Refused";
            case RUN -> "Run";
            case KV_EDIT -> "KvEdit";
            case RESULT -> "Result";
            case CANCEL -> "Cancel";
            case CANCELLED -> "Cancelled";
            case FAILURE -> "Failure";
            case PING -> "Ping";
            case PONG -> "Pong";
            case STATS_REQUEST -> "StatsRequest";
            case STATS_REPLY -> "StatsReply";
            case SHUTDOWN -> "Shutdown";
            case BARRIER -> "Barrier";
            default -> String.format("0x%02x", type);
        };
    }

    private FrameType() {
    }
}
