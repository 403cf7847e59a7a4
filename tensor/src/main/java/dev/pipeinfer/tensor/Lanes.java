package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
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
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();
    static final boolean USABLE = LANES >= 8 && LANES <= 16;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final VectorSpecies<Byte> B = USABLE ? VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8)) : null;
    static final VectorSpecies<Short> S = USABLE ? VectorSpecies.of(short.class, VectorShape.forBitSize(LANES * 16)) : null;

    private Lanes() {}
}
