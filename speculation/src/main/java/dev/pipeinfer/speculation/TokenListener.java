package dev.pipeinfer.speculation;

/** Receives each generated token as soon as it is final (accepted), in order; used to stream text. */
@FunctionalInterface
public interface TokenListener {
    void onToken(int token);

    TokenListener NONE = token -> { };
}
