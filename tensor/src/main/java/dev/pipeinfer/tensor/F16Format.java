package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

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

    /**
     * n = 1 where one sequential weight stream suits the machine ({@link RowStreams}): through
     * {@link #rowPairsDecoded}, else the tiled path's four rows side by side. JMH 5632x2048, calls/s, interleaved
     * runs: Zen 5 EPYC one row 517-556 vs tiled 321-437 on 1 thread, 646-999 vs 519-665 on 2; Xeon (2.6 GHz)
     * one row 240-249 vs tiled 274-314 on 1 thread, 384-455 vs 520-561 on 2. Decoding rows in adjacent pairs
     * (four FMA chains instead of two) then took the Zen 5 from 0.14-0.22 to 0.09-0.13 ns per weight with
     * 512x2048 in cache (five interleaved pairs), and 5632x2048 on 2 threads from 418-701 to 525-795 calls/s
     * (six pairs, the new one ahead in four; BF16 three of three, +13-22 %).
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (RowStreams.fourRows()) super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
        else rowPairsDecoded(w, x, xOffset, y, yOffset, from, to, scratch);
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
