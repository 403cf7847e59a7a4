package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector shapes every kernel uses: the widest float species the CPU has (512 bits with AVX-512,
 * where C2 reports MaxVectorSize=64), and the byte, short and int species with the same lane count, so a
 * load of {@code LANES} packed bytes converts to exactly one float vector.
 *
 * <p>Decoders assume {@code LANES} divides 16 (4, 8 or 16 lanes); with fewer than 8 lanes there is no byte
 * species of matching lane count, and {@link #USABLE} is false: the formats then decode with their scalar
 * reference, which gives the same bits.
 */
final class Lanes {
    static final VectorSpecies<Float> F = floatSpecies(System.getProperty("pipeinfer.vectorBits"));
    static final int LANES = F.length();
    static final boolean USABLE = LANES >= 8 && LANES <= 16;
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final VectorSpecies<Byte> B = USABLE ? VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8)) : null;
    static final VectorSpecies<Short> S = USABLE ? VectorSpecies.of(short.class, VectorShape.forBitSize(LANES * 16)) : null;

    private Lanes() {}

    /**
     * The preferred species, or a narrower one asked for with {@code -Dpipeinfer.vectorBits=256} (or 128): the
     * 256-bit kernels are what AVX2 machines run, and the test suite runs them on AVX-512 machines this way.
     * Wider than the CPU's vectors is refused (the Vector API would emulate them in plain Java).
     */
    static VectorSpecies<Float> floatSpecies(String bits) {
        VectorSpecies<Float> preferred = FloatVector.SPECIES_PREFERRED;
        if (bits == null) return preferred;
        int wanted;
        try {
            wanted = Integer.parseInt(bits.trim());
        } catch (NumberFormatException e) {
            wanted = -1;
        }
        if (wanted == 128 || wanted == 256 || wanted == 512) {
            if (wanted <= preferred.vectorBitSize()) return VectorSpecies.of(float.class, VectorShape.forBitSize(wanted));
        }
        // a tuning knob: say so and keep the CPU's width rather than stop the run
        System.err.println("pipeinfer: ignoring -Dpipeinfer.vectorBits=" + bits + " (this CPU takes 128 to "
                + preferred.vectorBitSize() + ")");
        return preferred;
    }
}
