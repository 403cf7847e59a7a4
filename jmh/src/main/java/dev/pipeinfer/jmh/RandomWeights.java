package dev.pipeinfer.jmh;

import dev.pipeinfer.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * Random weight matrices for benchmarks, fast enough to fill gigabytes: quantized types get random bytes
 * with every fp16 scale field overwritten by a modest positive value (so no block decodes to Inf/NaN, which
 * would not happen in a real model); F32/F16/BF16 get Gaussian values of std 0.05 properly encoded.
 * Kernel speed does not depend on the values otherwise.
 */
final class RandomWeights {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RandomWeights() {}

    /** Byte offsets of the fp16 scale fields inside one block of {@code type}. */
    static int[] scaleFields(GgmlType type) {
        return switch (type) {
            case Q4_0, Q5_0, Q8_0, Q4_1, Q5_1, Q4_K, Q5_K -> type == GgmlType.Q4_1 || type == GgmlType.Q5_1
                    || type == GgmlType.Q4_K || type == GgmlType.Q5_K ? new int[] {0, 2} : new int[] {0};
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            case Q6_K -> new int[] {208};
            default -> throw new IllegalArgumentException("not a block type: " + type);
        };
    }

    /** Fills {@code s}: a random pattern of up to 4 MiB (whole blocks), repeated to the end. */
    static void fill(GgmlType type, MemorySegment s, long seed) {
        long pattern = Math.min(s.byteSize(), (4L << 20) / type.blockBytes * type.blockBytes);
        fillRandom(type, s.asSlice(0, pattern), seed);
        for (long o = pattern; o < s.byteSize(); o += pattern) {
            long n = Math.min(pattern, s.byteSize() - o);
            MemorySegment.copy(s, 0, s, o, n);
        }
    }

    private static void fillRandom(GgmlType type, MemorySegment s, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long size = s.byteSize();
        switch (type) {
            case F32 -> {
                for (long o = 0; o + 4 <= size; o += 4) s.set(ValueLayout.JAVA_FLOAT_UNALIGNED, o, (float) (random.nextGaussian() * 0.05));
            }
            case F16 -> {
                for (long o = 0; o + 2 <= size; o += 2) s.set(LE_SHORT, o, Float.floatToFloat16((float) (random.nextGaussian() * 0.05)));
            }
            case BF16 -> {
                for (long o = 0; o + 2 <= size; o += 2) {
                    s.set(LE_SHORT, o, (short) (Float.floatToRawIntBits((float) (random.nextGaussian() * 0.05)) >>> 16));
                }
            }
            default -> {
                long o = 0;
                for (; o + 8 <= size; o += 8) s.set(ValueLayout.JAVA_LONG_UNALIGNED, o, random.nextLong());
                for (; o < size; o++) s.set(ValueLayout.JAVA_BYTE, o, (byte) random.nextInt());
                int[] fields = scaleFields(type);
                for (long block = 0; block + type.blockBytes <= size; block += type.blockBytes) {
                    for (int f : fields) s.set(LE_SHORT, block + f, Float.floatToFloat16((float) (0.001 + 0.01 * random.nextDouble())));
                }
            }
        }
    }
}
