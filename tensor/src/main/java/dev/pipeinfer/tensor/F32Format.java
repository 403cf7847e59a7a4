package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.LANES;

/** F32: plain little-endian IEEE binary32, no blocks. Dequantizing is a copy. */
public final class F32Format extends TensorFormat {
    F32Format() {
        super(GgmlType.F32);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        for (int i = 0; i < k; i++) dst[dstOffset + i] = src.get(LE_FLOAT, offset + 4L * i);
    }

    @Override
    public void decodeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        MemorySegment.copy(src, LE_FLOAT, offset, dst, dstOffset, k);
    }

    /** Fused n = 1 kernel (16 or 8 lanes): {@link Dot#rows4x1} reading the four weight rows straight from the segment (same bits). */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, KernelScratch scratch) {
        if (LANES != 16 && LANES != 8) {
            super.matvecRows(w, x, xOffset, y, yOffset, from, to, scratch);
            return;
        }
        MemorySegment s = w.data;
        int k = w.cols, whole = k - k % LANES;
        float[] lanes = scratch.lanes;
        for (int r0 = from; r0 < to; r0 += 4) {
            int rows = Math.min(4, to - r0);
            long w0 = w.rowOffset(r0), w1 = w.rowOffset(r0 + Math.min(1, rows - 1));
            long w2 = w.rowOffset(r0 + Math.min(2, rows - 1)), w3 = w.rowOffset(r0 + Math.min(3, rows - 1));
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            int i = 0;
            for (; i + 2 * LANES <= whole; i += 2 * LANES) {
                FloatVector xv = FloatVector.fromArray(F, x, xOffset + i);
                a0 = load(s, w0 + 4L * i).fma(xv, a0);
                a1 = load(s, w1 + 4L * i).fma(xv, a1);
                a2 = load(s, w2 + 4L * i).fma(xv, a2);
                a3 = load(s, w3 + 4L * i).fma(xv, a3);
                xv = FloatVector.fromArray(F, x, xOffset + i + LANES);
                b0 = load(s, w0 + 4L * (i + LANES)).fma(xv, b0);
                b1 = load(s, w1 + 4L * (i + LANES)).fma(xv, b1);
                b2 = load(s, w2 + 4L * (i + LANES)).fma(xv, b2);
                b3 = load(s, w3 + 4L * (i + LANES)).fma(xv, b3);
            }
            if (i < whole) { // an odd chunk count: the last one is even
                FloatVector xv = FloatVector.fromArray(F, x, xOffset + i);
                a0 = load(s, w0 + 4L * i).fma(xv, a0);
                a1 = load(s, w1 + 4L * i).fma(xv, a1);
                a2 = load(s, w2 + 4L * i).fma(xv, a2);
                a3 = load(s, w3 + 4L * i).fma(xv, a3);
            }
            a0.add(b0).intoArray(lanes, 0);
            a1.add(b1).intoArray(lanes, LANES);
            a2.add(b2).intoArray(lanes, 2 * LANES);
            a3.add(b3).intoArray(lanes, 3 * LANES);
            finishFourFloatRows(w, x, xOffset, y, yOffset + r0, r0, rows, lanes);
        }
    }

    private static FloatVector load(MemorySegment s, long at) {
        return FloatVector.fromMemorySegment(F, s, at, ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        MemorySegment.copy(src, srcOffset, dst, LE_FLOAT, offset, k);
    }
}
