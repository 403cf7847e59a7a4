package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.LANES;

/** F16: IEEE binary16, little-endian, no blocks. Conversion in both directions is exact / round-to-nearest-even. */
public final class F16Format extends TensorFormat {
    F16Format() {
        super(GgmlType.F16);
    }

    /**
     * Also the fast path ({@link #decodeRow} is not overridden): C2 turns this loop into vcvtph2ps over 16
     * lanes, about four times the speed of rebuilding the float bits with Vector API integer operations
     * (the Vector API has no half-float conversion).
     */
    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        for (int i = 0; i < k; i++) dst[dstOffset + i] = Float.float16ToFloat(src.get(LE_SHORT, offset + 2L * i));
    }

    /** Floats converted at a time in the n = 1 kernel: 8 KiB, beside the activations' 8 KiB in L1. */
    static final int PIECE = 2048;

    /**
     * n = 1, one row at a time: pieces of the row converted to floats in L1 (the loop above, vcvtph2ps),
     * each fed to a two-accumulator dot product in the order of {@link Dot}. Unlike the tiled path, which
     * converts four rows' tiles side by side, this reads the weights as one sequential stream, which the
     * hardware prefetcher follows (as for Q8_0). JMH 5632x2048, calls/s against the tiled path, interleaved
     * runs: 517-556 vs 321-437 on 1 thread, 646-999 vs 519-665 on 2; in cache (256x2048) it is slower,
     * 14-16k vs 19k, so the gain is the memory stream's.
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (LANES != 16) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        int k = w.cols, whole = k - k % 16;
        float[] row = scratch.scales(Math.min(k, PIECE)), lanes = scratch.lanes;
        for (int r = from; r < to; r++) {
            FloatVector even = FloatVector.zero(F), odd = even;
            int last = 0;
            for (int t0 = 0; t0 < k; t0 += PIECE) {
                int len = Math.min(PIECE, k - t0), chunksEnd = Math.min(len, whole - t0);
                dequantizeRow(w.data, w.rowOffset(r) + 2L * t0, row, 0, len);
                int i = 0, xi = xOffset + t0;
                for (; i + 32 <= chunksEnd; i += 32) {
                    even = FloatVector.fromArray(F, row, i).fma(FloatVector.fromArray(F, x, xi + i), even);
                    odd = FloatVector.fromArray(F, row, i + 16).fma(FloatVector.fromArray(F, x, xi + i + 16), odd);
                }
                if (i < chunksEnd) even = FloatVector.fromArray(F, row, i).fma(FloatVector.fromArray(F, x, xi + i), even);
                last = t0;
            }
            even.add(odd).intoArray(lanes, 0);
            if (whole == k) {
                finishRows(lanes, y, yOffset + r, 1);
                continue;
            }
            finishRows(lanes, lanes, 64, 1);
            y[yOffset + r] = Dot.addTail(lanes[64], row, whole - last, x, xOffset + whole, k - whole);
        }
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        for (int i = 0; i < k; i++) dst.set(LE_SHORT, offset + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
    }
}
