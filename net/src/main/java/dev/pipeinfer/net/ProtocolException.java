package dev.pipeinfer.net;

import java.io.IOException;

/**
 * The peer sent something this protocol does not allow: a frame too large, an unknown type, a bad
 * checksum, a field out of range. The connection that carried it is closed with this message.
 */
public class ProtocolException extends IOException {
    public ProtocolException(String message) {
        super(message);
    }

    public ProtocolException(String message, Throwable cause) {
        super(message, cause);
    }
}
