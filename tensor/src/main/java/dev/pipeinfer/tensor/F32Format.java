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

    /** Fused n = 1 kernel: {@link Dot#dot1} reading the weights straight from the segment (same bits). */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, float[] row, float[] lanes) {
        if (LANES != 16) {
            matvecRowsGeneric(w, x, xOffset, y, yOffset, from, to, row, lanes);
            return;
        }
        MemorySegment s = w.data;
        int k = w.cols;
        for (int r = from; r < to; r++) {
            long base = w.rowOffset(r);
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int i = 0;
            for (; i + 64 <= k; i += 64) {
                a0 = load(s, base + 4L * i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
                a1 = load(s, base + 4L * i + 64).fma(FloatVector.fromArray(F, x, xOffset + i + 16), a1);
                a2 = load(s, base + 4L * i + 128).fma(FloatVector.fromArray(F, x, xOffset + i + 32), a2);
                a3 = load(s, base + 4L * i + 192).fma(FloatVector.fromArray(F, x, xOffset + i + 48), a3);
            }
            if (i + 16 <= k) {
                a0 = load(s, base + 4L * i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
                i += 16;
                if (i + 16 <= k) {
                    a1 = load(s, base + 4L * i).fma(FloatVector.fromArray(F, x, xOffset + i), a1);
                    i += 16;
                    if (i + 16 <= k) {
                        a2 = load(s, base + 4L * i).fma(FloatVector.fromArray(F, x, xOffset + i), a2);
                        i += 16;
                    }
                }
            }
            dequantizeRow(s, base + 4L * i, row, i, k - i);
            a0.add(a1).add(a2.add(a3)).intoArray(lanes, 0);
            y[yOffset + r] = Dot.tail(row, x, xOffset, i, k, lanes);
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
