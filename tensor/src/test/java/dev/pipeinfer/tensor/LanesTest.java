package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The kernels' vector width is the CPU's unless {@code -Dpipeinfer.vectorBits} asks for a narrower one, which is
 * how the build runs this module's tests a second time on the 256-bit (AVX2) kernels.
 */
class LanesTest {
    private static final int PREFERRED_BITS = FloatVector.SPECIES_PREFERRED.vectorBitSize();

    @Test
    void withoutThePropertyTheWidthIsTheCpus() {
        assertEquals(FloatVector.SPECIES_PREFERRED, Lanes.floatSpecies(null));
    }

    @Test
    void aNarrowerWidthIsTaken() {
        Assumptions.assumeTrue(PREFERRED_BITS >= 256, "this CPU has no 256-bit vectors");
        assertEquals(256, Lanes.floatSpecies("256").vectorBitSize());
        assertEquals(128, Lanes.floatSpecies(" 128 ").vectorBitSize());
    }

    @Test
    void widerThanTheCpuOrNotAWidthIsIgnored() {
        assertEquals(PREFERRED_BITS, Lanes.floatSpecies(String.valueOf(2 * PREFERRED_BITS)).vectorBitSize());
        assertEquals(PREFERRED_BITS, Lanes.floatSpecies("wide").vectorBitSize());
        assertEquals(PREFERRED_BITS, Lanes.floatSpecies("384").vectorBitSize());
    }

    @Test
    void theSecondTestRunUsesEightLanes() {
        Assumptions.assumeTrue("256".equals(System.getProperty("pipeinfer.vectorBits")), "not the 256-bit run");
        assertEquals(8, Lanes.LANES);
        assertEquals(8, Lanes.I.length());
        assertEquals(64, Lanes.B.vectorBitSize());
    }
}
