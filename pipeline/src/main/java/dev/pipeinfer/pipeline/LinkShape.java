package dev.pipeinfer.pipeline;

import java.time.Duration;

/**
 * An interconnect to emulate on one machine: each message arrives {@code latency} after it was sent,
 * plus its size over {@code bitsPerSecond} (messages queue behind each other on the wire). Zero latency
 * and zero bandwidth ("unlimited") mean no shaping.
 */
public record LinkShape(Duration latency, long bitsPerSecond) {

    public static final LinkShape NONE = new LinkShape(Duration.ZERO, 0);

    /** How much before its time a shaped link may release a message (it parks a little short, see ShapedLink). */
    public static final long MAX_EARLY_NANOS = 300_000;

    public LinkShape {
        if (latency == null || latency.isNegative()) throw new IllegalArgumentException("link latency " + latency);
        if (bitsPerSecond < 0) throw new IllegalArgumentException("link bandwidth " + bitsPerSecond + " bit/s");
    }

    /** From command-line units: milliseconds (fractions allowed) and megabits per second (0: unlimited). */
    public static LinkShape of(double latencyMillis, double megabitsPerSecond) {
        return new LinkShape(Duration.ofNanos(Math.round(latencyMillis * 1e6)), Math.round(megabitsPerSecond * 1e6));
    }

    public boolean isNone() {
        return latency.isZero() && bitsPerSecond == 0;
    }

    /** Nanoseconds a message of this many bytes occupies the wire. */
    long serializationNanos(long bytes) {
        return bitsPerSecond == 0 ? 0 : bytes * 8 * 1_000_000_000L / bitsPerSecond;
    }

    /** The link as a sender sees it shaped (see {@link ShapedLink#onSend}); itself when there is no shaping. */
    public Link onSend(Link link) {
        return isNone() ? link : ShapedLink.onSend(link, this);
    }

    /** The link with its arrivals shaped (see {@link ShapedLink#onReceive}); itself when there is no shaping. */
    public Link onReceive(Link link) {
        return isNone() ? link : ShapedLink.onReceive(link, this);
    }
}
