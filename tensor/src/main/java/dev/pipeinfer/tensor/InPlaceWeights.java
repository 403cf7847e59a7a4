package dev.pipeinfer.tensor;

/**
 * Activations for n = 1 kernels that read packed weights in place: a chunk of eight weights sitting at bit s of
 * their ints is masked, not shifted down, so it reads as {@code q 2^s}, and the activations it meets are
 * scaled by 2^-s once per call instead. A power of two moved from one factor of a product to the other leaves
 * its rounding alone, so the products and sums keep the bits of the batch kernels, which shift (while no
 * scaled activation turns subnormal: |x| >= 2^-102, as {@code BatchInvarianceTest} checks). Shifts were what
 * bounded Q4_K's n = 1 loop on the Zen 2 EPYC (taking them out: 8 % faster; conversions out: no change).
 */
final class InPlaceWeights {
    /**
     * Q4_K's and Q5_K's chunks in {@link FactoredKernels#nibbleOrder}: chunk t at bit 4t, the top one still
     * shifted down (masked in place it would read as a negative int).
     */
    static final float[] NIBBLE_ORDER = scales(0, 4, 8, 12, 16, 20, 24, 0);

    private InPlaceWeights() {}

    /** 2^-shift for each chunk's shift. */
    static float[] scales(int... shifts) {
        float[] scales = new float[shifts.length];
        for (int c = 0; c < shifts.length; c++) scales[c] = Math.scalb(1f, -shifts[c]);
        return scales;
    }

    /** Chunk c (of eight values) of every run of {@code scales.length} chunks in {@code xn[0 .. k)} times {@code scales[c]}. */
    static void scaleChunks(float[] xn, int k, float[] scales) {
        int period = 8 * scales.length;
        for (int run = 0; run < k; run += period) {
            for (int c = 0; c < scales.length; c++) {
                float scale = scales[c];
                if (scale == 1f) continue;
                for (int at = run + 8 * c, lane = 0; lane < 8; lane++) xn[at + lane] *= scale;
            }
        }
    }
}
