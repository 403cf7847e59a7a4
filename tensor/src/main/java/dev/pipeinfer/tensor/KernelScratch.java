package dev.pipeinfer.tensor;

/**
 * One compute thread's working memory for the matmul kernels, allocated once and grown on demand, so the
 * hot loops allocate nothing.
 */
final class KernelScratch {
    /** Four decoded weight rows of one tile ({@link Dot#ROWS} x {@link Matmul#TILE} floats). */
    final float[] tile = new float[Dot.ROWS * Matmul.TILE];
    /** Fused kernels: four rows' block scales, and four accumulators' lanes to finish (int8 kernels: two, and their sums). */
    final float[] lanes = new float[8 * 16];
    /** Fused kernels: one block's unpacked integer scales. */
    final int[] blockScales = new int[16];
    /** Where the kernels leave the sum of the bytes {@link RowPrefetch} touched, so that C2 keeps those loads. */
    int prefetched;
    private float[] acc = new float[0];
    private float[] scales = new float[0];
    private short[] int8Row = new short[0];
    private float[] reorderedActivations = new float[0];
    private float[] subBlockSums = new float[0];
    private float[] decodedRow = new float[0];

    /** Room for the block scales of whole rows, computed before a fused kernel's vector loop. */
    float[] scales(int size) {
        if (scales.length < size) scales = new float[size];
        return scales;
    }

    /** Room for activation rows' sub-block sums ({@link FactoredKernels#subBlockSums}). */
    float[] subBlockSums(int size) {
        if (subBlockSums.length < size) subBlockSums = new float[size];
        return subBlockSums;
    }

    /**
     * Room for activation rows rewritten for a kernel: scaled ({@link F16Format}) or put in the order it reads
     * the weights ({@link FactoredKernels#nibbleOrder}, {@link QuarterScaledKernels#laneOrder}).
     */
    float[] reorderedActivations(int size) {
        if (reorderedActivations.length < size) reorderedActivations = new float[size];
        return reorderedActivations;
    }

    /** Room for a weight row decoded to floats in a kernel's order (the batches of Q6_K and Q3_K, {@link QuarterScaledKernels}). */
    float[] decodedRow(int size) {
        if (decodedRow.length < size) decodedRow = new float[size];
        return decodedRow;
    }

    /** Room for a weight row decoded to 16-bit integers ({@link Int8Matmul.Kernels#decode}). */
    short[] int8Row(int size) {
        if (int8Row.length < size) int8Row = new short[size];
        return int8Row;
    }

    /** Room for the two vector accumulators per output of four weight rows against n activation rows. */
    float[] accumulators(int n) {
        int size = n * Dot.SLOTS;
        if (acc.length < size) acc = new float[size];
        return acc;
    }
}
