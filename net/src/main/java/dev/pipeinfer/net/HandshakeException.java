package dev.pipeinfer.net;

/**
 * The two sides do not agree to work together: protocol version, model fingerprint or cluster key
 * differ, or the worker is busy. Raised on both sides with the reason; {@code refusedByPeer} tells
 * whether the other side said no or this one did.
 */
public class HandshakeException extends ProtocolException {
    private final boolean refusedByPeer;

    public HandshakeException(String message, boolean refusedByPeer) {
        super(message);
        this.refusedByPeer = refusedByPeer;
    }

    public boolean refusedByPeer() {
        return refusedByPeer;
    }
}
