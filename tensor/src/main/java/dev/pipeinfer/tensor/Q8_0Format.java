package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.B;
import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.LANES;

/**
 * Q8_0: blocks of 32 weights, 34 bytes: {@code d} (fp16 scale) then 32 signed bytes {@code q}; w = q * d.
 */
public final class Q8_0Format extends TensorFormat {
    static final int QK = 32;
    static final int BLOCK_BYTES = 34;

    Q8_0Format() {
        super(GgmlType.Q8_0);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float d = fp16(src, block);
            for (int j = 0; j < QK; j++) {
                dst[dstOffset + b * QK + j] = src.get(ValueLayout.JAVA_BYTE, block + 2 + j) * d;
            }
        }
    }

    @Override
    public void decodeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        if (!Lanes.USABLE) {
            dequantizeRow(src, offset, dst, dstOffset, k);
            return;
        }
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            long block = offset + (long) b * BLOCK_BYTES;
            float d = fp16(src, block);
            for (int j = 0; j < QK; j += LANES) {
                FloatVector q = (FloatVector) ByteVector.fromMemorySegment(B, src, block + 2 + j, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2F, F, 0);
                q.mul(d).intoArray(dst, dstOffset + b * QK + j);
            }
        }
    }

    /**
     * Fused n = 1 kernel (16 lanes): each half-block of 16 signed bytes converts to floats, is scaled by a
     * broadcast d (exactly the dequantized values) and goes straight into the FMAs, chunk c into accumulator
     * c mod 4 as in {@link Dot#dot1}: the same bits as the generic decode-then-dot path.
     */
    @Override
    void matvecRows(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to, float[] row, float[] lanes) {
        if (LANES != 16) {
            matvecRowsGeneric(w, x, xOffset, y, yOffset, from, to, row, lanes);
            return;
        }
        MemorySegment s = w.data;
        int blocks = w.cols / QK;
        for (int r = from; r < to; r++) {
            long base = w.rowOffset(r);
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int b = 0;
            for (; b + 2 <= blocks; b += 2) {
                long block = base + (long) b * BLOCK_BYTES;
                int xi = xOffset + b * QK;
                FloatVector d = FloatVector.broadcast(F, fp16(s, block));
                a0 = bytes(s, block + 2).mul(d).fma(FloatVector.fromArray(F, x, xi), a0);
                a1 = bytes(s, block + 18).mul(d).fma(FloatVector.fromArray(F, x, xi + 16), a1);
                FloatVector d2 = FloatVector.broadcast(F, fp16(s, block + BLOCK_BYTES));
                a2 = bytes(s, block + BLOCK_BYTES + 2).mul(d2).fma(FloatVector.fromArray(F, x, xi + 32), a2);
                a3 = bytes(s, block + BLOCK_BYTES + 18).mul(d2).fma(FloatVector.fromArray(F, x, xi + 48), a3);
            }
            if (b < blocks) {
                long block = base + (long) b * BLOCK_BYTES;
                int xi = xOffset + b * QK;
                FloatVector d = FloatVector.broadcast(F, fp16(s, block));
                a0 = bytes(s, block + 2).mul(d).fma(FloatVector.fromArray(F, x, xi), a0);
                a1 = bytes(s, block + 18).mul(d).fma(FloatVector.fromArray(F, x, xi + 16), a1);
            }
            a0.add(a1).add(a2.add(a3)).intoArray(lanes, 0);
            y[yOffset + r] = Dot.tail(row, x, xOffset, w.cols, w.cols, lanes);
        }
    }

    private static FloatVector bytes(MemorySegment s, long offset) {
        return (FloatVector) ByteVector.fromMemorySegment(B, s, offset, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** ggml's quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d). */
    @Override
    public void quantizeRow(float[] src, int srcOffset, MemorySegment dst, long offset, int k) {
        checkWholeBlocks(k);
        for (int b = 0; b < k / QK; b++) {
            int x = srcOffset + b * QK;
            long block = offset + (long) b * BLOCK_BYTES;
            float amax = 0;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[x + j]));
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            putFp16(dst, block, d);
            for (int j = 0; j < QK; j++) putU8(dst, block + 2 + j, (int) roundHalfAway(src[x + j] * id));
        }
    }
}
