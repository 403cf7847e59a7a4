package dev.pipeinfer.pipeline;

import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A link decorator that delays messages as a slower interconnect would ({@link LinkShape}): a message
 * sent at t is released at max(t, when the wire is free) + its serialization time + the latency. Order is
 * kept. The delay is never spent by the sender or under a lock, so a delayed link holds back only its own
 * messages; like a real wire it carries many at once: a burst sent together arrives together, one latency
 * later.
 *
 * <p>Two placements: {@link #onSend} delays between the sender and the wrapped link (for a link whose
 * sending end is in this process; a forwarding virtual thread waits out each message's time);
 * {@link #onReceive} delays between the wrapped link and the receiver (for one whose sending end is
 * elsewhere; arrivals are stamped as they come in and the receiver waits out their time).
 */
final class ShapedLink implements Link {
    private record Timed(Message message, long releaseAt) {
    }

    private static final Timed END = new Timed(new Message.Shutdown(), 0);

    private final Link inner;
    private final LinkShape shape;
    private final boolean shapeSends;
    private final LinkedBlockingQueue<Timed> delayed = new LinkedBlockingQueue<>();
    private final LinkedBlockingDeque<Timed> arrived = new LinkedBlockingDeque<>();
    private final Thread forwarder;
    private long wireFreeAt;
    private volatile boolean closed;
    private volatile RuntimeException failure;

    private ShapedLink(Link inner, LinkShape shape, boolean shapeSends) {
        this.inner = inner;
        this.shape = shape;
        this.shapeSends = shapeSends;
        this.forwarder = Thread.ofVirtual().name("shaped " + inner.describe()).start(shapeSends ? this::forwardSends : this::forwardArrivals);
    }

    static Link onSend(Link inner, LinkShape shape) {
        return new ShapedLink(inner, shape, true);
    }

    static Link onReceive(Link inner, LinkShape shape) {
        return new ShapedLink(inner, shape, false);
    }

    private synchronized long releaseTime(Message m) {
        long now = System.nanoTime();
        wireFreeAt = Math.max(now, wireFreeAt) + shape.serializationNanos(m.nominalBytes());
        return wireFreeAt + shape.latency().toNanos();
    }

    /**
     * A timed park wakes 0.1-0.2 ms late here, which would add a tenth or more to an emulated 1 ms link, and
     * spinning out the last part costs the CPU the stages need. So each link learns how late its parks wake
     * (a running average, at most {@link LinkShape#MAX_EARLY_NANOS}) and parks that much less: a message is
     * released within tens of microseconds of its time, early as often as late, never more than that early.
     */
    private long wakeDelayNanos = 100_000;

    private void sleepUntil(long t) throws InterruptedException {
        long wakeAt = t - wakeDelayNanos, left;
        boolean parked = false;
        while ((left = wakeAt - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
            parked = true;
            if (Thread.interrupted()) throw new InterruptedException();
        }
        if (!parked) return;
        long late = System.nanoTime() - wakeAt;
        wakeDelayNanos = Math.clamp(wakeDelayNanos + (late - wakeDelayNanos) / 8, 0, LinkShape.MAX_EARLY_NANOS);
    }

    private void forwardSends() {
        try {
            while (true) {
                Timed t = delayed.take();
                if (t == END) break;
                sleepUntil(t.releaseAt());
                inner.send(t.message());
            }
            inner.close();
        } catch (InterruptedException e) {
            // closing
        } catch (RuntimeException e) {
            failure = e;
        }
    }

    /** Stamps each arrival with its release time at once; the receiver waits out the delay. */
    private void forwardArrivals() {
        try {
            while (!closed) {
                Message m = inner.receive();
                arrived.add(new Timed(m, releaseTime(m)));
            }
        } catch (InterruptedException e) {
            // closing
        } catch (RuntimeException e) {
            failure = e;
            arrived.add(END);
        }
    }

    @Override
    public void send(Message message) throws InterruptedException {
        if (!shapeSends) {
            inner.send(message);
            return;
        }
        if (failure != null) throw failure;
        if (closed) throw new LinkClosedException("link " + describe() + " is closed");
        delayed.add(new Timed(message, releaseTime(message)));
    }

    @Override
    public Message receive() throws InterruptedException {
        if (shapeSends) return inner.receive();
        Timed t = unwrap(arrived.take());
        sleepUntil(t.releaseAt());
        return t.message();
    }

    /** One receiver at a time (as every link): a message not yet due by the deadline stays first in line. */
    @Override
    public Message poll(long timeout, TimeUnit unit) throws InterruptedException {
        if (shapeSends) return inner.poll(timeout, unit);
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        Timed t = arrived.poll(timeout, unit);
        if (t == null) return null;
        unwrap(t);
        if (t.releaseAt() - deadline > 0) {
            arrived.addFirst(t);
            sleepUntil(deadline);
            return null;
        }
        sleepUntil(t.releaseAt());
        return t.message();
    }

    private Timed unwrap(Timed t) {
        if (t == END) {
            arrived.addFirst(END);
            throw failure != null ? failure : new LinkClosedException("link " + describe() + " is closed");
        }
        return t;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (shapeSends) {
            delayed.add(END); // messages already sent still go out, then the inner link closes
        } else {
            forwarder.interrupt();
            inner.close();
            arrived.add(END); // a receiver gets what already arrived, then the end
        }
    }

    @Override
    public String describe() {
        return inner.describe() + " (shaped: " + shape.latency().toNanos() / 1e6 + " ms, "
                + (shape.bitsPerSecond() == 0 ? "unlimited" : shape.bitsPerSecond() / 1e6 + " Mbit/s") + ")";
    }

    @Override
    public long bytesSent() {
        return inner.bytesSent();
    }

    @Override
    public long bytesReceived() {
        return inner.bytesReceived();
    }
}
