package dev.pipeinfer.net;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;

/**
 * A secret shared by the head and its workers. It never crosses the wire: at the handshake each side
 * proves it knows the key with an HMAC-SHA256 over both sides' fresh nonces and the Hello frame, under
 * a label saying which side speaks, so one side's proof cannot be replayed as the other's.
 *
 * <p>This authenticates who may join a session; it does not encrypt the traffic that follows.
 */
public final class ClusterKey {
    private final byte[] key;

    private ClusterKey(byte[] key) {
        this.key = key.clone();
    }

    public static ClusterKey of(String secret) {
        if (secret == null || secret.isEmpty()) throw new IllegalArgumentException("empty cluster key");
        return new ClusterKey(secret.getBytes(StandardCharsets.UTF_8));
    }

    public static ClusterKey of(byte[] secret) {
        if (secret == null || secret.length == 0) throw new IllegalArgumentException("empty cluster key");
        return new ClusterKey(secret);
    }

    /** HMAC-SHA256(key, label || each part, with lengths), 32 bytes. */
    byte[] prove(String label, byte[]... parts) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            update(mac, label.getBytes(StandardCharsets.UTF_8));
            for (byte[] part : parts) update(mac, part);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    private static void update(Mac mac, byte[] part) {
        int n = part.length;
        mac.update(new byte[]{(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
        mac.update(part);
    }

    /** Constant-time comparison of a proof received with the one expected. */
    boolean matches(byte[] expected, byte[] received) {
        return MessageDigest.isEqual(expected, received);
    }

    @Override
    public String toString() {
        return "ClusterKey[hidden]";
    }
}
