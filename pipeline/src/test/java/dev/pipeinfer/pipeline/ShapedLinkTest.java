package dev.pipeinfer.pipeline;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An emulated interconnect delays each message by the latency plus its time on the wire, keeps order,
 * and, like a real wire, carries many messages at once: a burst arrives one latency later, not one
 * latency per message. Bounds are generous on the slow side (a loaded machine only delays more); on the
 * early side a message may leave at most {@link LinkShape#MAX_EARLY_NANOS} before its time.
 */
class ShapedLinkTest {
    static final long MS = 1_000_000L;

    static Link shaped(boolean onSend, Link inner, LinkShape shape) {
        return onSend ? shape.onSend(inner) : shape.onReceive(inner);
    }

    @ParameterizedTest(name = "shaped on {0}")
    @ValueSource(strings = {"send", "receive"})
    void aBurstArrivesInOrderOneLatencyLaterNotOneLatencyPerMessage(String side) throws Exception {
        InMemoryLink inner = new InMemoryLink("0->1", 64);
        Link link = shaped(side.equals("send"), inner, LinkShape.of(40, 0));
        Link sending = side.equals("send") ? link : inner, receiving = side.equals("send") ? inner : link;
        int count = 20;
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) sending.send(new Message.Cancelled(i, 0));
        long first = 0;
        for (int i = 0; i < count; i++) {
            Message m = receiving.receive();
            long at = System.nanoTime() - start;
            if (i == 0) first = at;
            assertEquals(new Message.Cancelled(i, 0), m, "message " + i + " out of order");
            assertTrue(at >= 40 * MS - LinkShape.MAX_EARLY_NANOS, "message " + i + " arrived after " + at / MS
                    + " ms, before the latency");
        }
        long last = System.nanoTime() - start;
        assertTrue(last - first < 200 * MS, "the burst took " + (last - first) / MS + " ms to drain after the first "
                + "message; one latency per message would be " + (count - 1) * 40 + " ms");
        link.close();
        inner.close();
    }

    @ParameterizedTest(name = "shaped on {0}")
    @ValueSource(strings = {"send", "receive"})
    void messagesQueueBehindEachOtherOnTheWire(String side) throws Exception {
        InMemoryLink inner = new InMemoryLink("0->1", 64);
        Link link = shaped(side.equals("send"), inner, LinkShape.of(0, 8)); // 8 Mbit/s: 10 kB take 10 ms
        Link sending = side.equals("send") ? link : inner, receiving = side.equals("send") ? inner : link;
        long start = System.nanoTime();
        for (int i = 0; i < 10; i++) sending.send(new Message.Cancel(new long[1249])); // 8 + 8 * 1249 = 10 000 bytes
        for (int i = 0; i < 10; i++) receiving.receive();
        long took = System.nanoTime() - start;
        assertTrue(took >= 100 * MS - LinkShape.MAX_EARLY_NANOS, "10 x 10 kB over 8 Mbit/s took " + took / MS + " ms, under the 100 ms on the wire");
        link.close();
        inner.close();
    }

    @org.junit.jupiter.api.Test
    void aPollThatEndsBeforeTheNextMessageIsDueReturnsNothingAndKeepsIt() throws Exception {
        InMemoryLink inner = new InMemoryLink("1->head", 4);
        Link link = LinkShape.of(150, 0).onReceive(inner);
        inner.send(new Message.Cancelled(7, 1));
        assertNull(link.poll(20, TimeUnit.MILLISECONDS), "due only after 150 ms");
        assertEquals(new Message.Cancelled(7, 1), link.poll(2, TimeUnit.SECONDS));
        link.close();
        assertThrows(LinkClosedException.class, link::receive);
    }
}
