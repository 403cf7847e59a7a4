package dev.pipeinfer.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The read-bandwidth probe reads what it is given and reports a rate; how fast is not asserted. */
class ReadBandwidthTest {
    @Test
    void theSumIsTheSumOfTheFloats() {
        try (Arena arena = Arena.ofConfined()) {
            int count = 1 << 18; // small integers: every partial sum is exact in float
            MemorySegment s = arena.allocate(4L * count, 64);
            long all = 0, secondHalf = 0;
            for (int i = 0; i < count; i++) {
                s.setAtIndex(ValueLayout.JAVA_FLOAT, i, i % 5);
                all += i % 5;
                if (i >= count / 2) secondHalf += i % 5;
            }
            assertEquals(all, ReadBandwidth.sum(s, 0, 4L * count));
            assertEquals(secondHalf, ReadBandwidth.sum(s, 2L * count, 4L * count), "from byte 2 count: the second half");
        }
    }

    @Test
    void aRateIsMeasuredOnOneAndTwoThreads() {
        for (int threads = 1; threads <= 2; threads++) {
            try (ComputePool pool = new ComputePool(threads)) {
                double rate = ReadBandwidth.gbPerSecond(pool, 8L << 20, 3);
                assertTrue(rate > 0 && Double.isFinite(rate), threads + " threads: " + rate);
            }
        }
    }

    @Test
    void atLeastOnePassIsTimed() {
        try (ComputePool pool = new ComputePool(1)) {
            assertThrows(IllegalArgumentException.class, () -> ReadBandwidth.gbPerSecond(pool, 1 << 20, 0));
        }
    }
}
