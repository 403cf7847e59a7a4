package dev.pipeinfer.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.B;
import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.I;

/**
 * {@link Q4_0Format}'s f32-activation kernels on 256-bit vectors (AVX2), where its 16-level table does not fit
 * one permute: the nibble bytes of each half block are zero-extended to eight ints, and the low and high
 * nibbles, less 8, converted and scaled as in the reference dequantizer. With int8 activations (the default on
 * these CPUs) {@link Q4_0Int8Kernels} run instead.
 */
final class Q4_0EightLaneKernels {
    private static final int QK = Q4_0Format.QK;
    private static final int BLOCK_BYTES = Q4_0Format.BLOCK_BYTES;

    private Q4_0EightLaneKernels() {}

    /**
     * The n = 1 kernel. Chunks: low nibbles of bytes 0-7 (weights 0-7, even accumulator), of bytes
     * 8-15 (odd), high nibbles of bytes 0-7 (weights 16-23, even), of bytes 8-15 (odd). Two rows half a slice
     * apart, as Q8_0's.
     */
    static void twoRowsApart(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to,
                             float[] lanes) {
        MemorySegment s = w.data;
        int blocks = w.cols / QK, half = (to - from + 1) / 2;
        for (int r0 = from; r0 < from + half; r0++) {
            int r1 = r0 + half;
            boolean pair = r1 < to;
            long w0 = w.rowOffset(r0), w1 = w.rowOffset(pair ? r1 : r0);
            FloatVector a0 = FloatVector.zero(F), a1 = a0, c0 = a0, c1 = a0;
            for (int b = 0; b < blocks; b++) {
                long o = (long) b * BLOCK_BYTES;
                int xi = xOffset + b * QK;
                FloatVector x0 = FloatVector.fromArray(F, x, xi), x1 = FloatVector.fromArray(F, x, xi + 8);
                FloatVector x2 = FloatVector.fromArray(F, x, xi + 16), x3 = FloatVector.fromArray(F, x, xi + 24);
                float d0 = TensorFormat.fp16(s, w0 + o), d1 = TensorFormat.fp16(s, w1 + o);
                IntVector p0 = eightNibbleBytes(s, w0 + o + 2), q0 = eightNibbleBytes(s, w0 + o + 10);
                IntVector p1 = eightNibbleBytes(s, w1 + o + 2), q1 = eightNibbleBytes(s, w1 + o + 10);
                a0 = ((FloatVector) p0.and(0x0F).sub(8).convert(VectorOperators.I2F, 0)).mul(d0).fma(x0, a0);
                c0 = ((FloatVector) q0.and(0x0F).sub(8).convert(VectorOperators.I2F, 0)).mul(d0).fma(x1, c0);
                a1 = ((FloatVector) p1.and(0x0F).sub(8).convert(VectorOperators.I2F, 0)).mul(d1).fma(x0, a1);
                c1 = ((FloatVector) q1.and(0x0F).sub(8).convert(VectorOperators.I2F, 0)).mul(d1).fma(x1, c1);
                a0 = ((FloatVector) p0.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d0).fma(x2, a0);
                c0 = ((FloatVector) q0.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d0).fma(x3, c0);
                a1 = ((FloatVector) p1.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d1).fma(x2, a1);
                c1 = ((FloatVector) q1.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d1).fma(x3, c1);
            }
            a0.add(c0).intoArray(lanes, 0);
            a1.add(c1).intoArray(lanes, 8);
            y[yOffset + r0] = LaneSums.of(lanes, 0);
            if (pair) y[yOffset + r1] = LaneSums.of(lanes, 8);
        }
    }

    /**
     * n = 2 on 256-bit vectors: weight rows r and r + half of the slice against both activation rows (eight
     * accumulators), as {@link #twoRowsApart}; the four-row kernel would repeat the activation rows and do twice
     * the FMAs.
     */
    static void twoRowsApartTimesTwo(WeightMatrix w, float[] x, int xOffset, float[] y, int yOffset, int from, int to,
                                     float[] lanes) {
        MemorySegment s = w.data;
        int k = w.cols, m = w.rows, blocks = k / QK, half = (to - from + 1) / 2;
        for (int r0 = from; r0 < from + half; r0++) {
            int r1 = r0 + half;
            boolean pair = r1 < to;
            long w0 = w.rowOffset(r0), w1 = w.rowOffset(pair ? r1 : r0);
            // aRJ / cRJ: weight row R against activation row J, even / odd chunks
            FloatVector a00 = FloatVector.zero(F), c00 = a00, a01 = a00, c01 = a00, a10 = a00, c10 = a00, a11 = a00, c11 = a00;
            for (int b = 0; b < blocks; b++) {
                long o = (long) b * BLOCK_BYTES;
                int xi = xOffset + b * QK, x1 = xi + k;
                float d0 = TensorFormat.fp16(s, w0 + o), d1 = TensorFormat.fp16(s, w1 + o);
                IntVector p0 = eightNibbleBytes(s, w0 + o + 2), q0 = eightNibbleBytes(s, w0 + o + 10);
                IntVector p1 = eightNibbleBytes(s, w1 + o + 2), q1 = eightNibbleBytes(s, w1 + o + 10);
                FloatVector v0, v1, xa, xb;
                v0 = ((FloatVector) p0.and(0x0F).sub(8).convert(VectorOperators.I2F, 0)).mul(d0);
                v1 = ((FloatVector) p1.and(0x0F).sub(8).convert(VectorOperators.I2F, 0)).mul(d1);
                xa = FloatVector.fromArray(F, x, xi);
                xb = FloatVector.fromArray(F, x, x1);
                a00 = v0.fma(xa, a00);
                a01 = v0.fma(xb, a01);
                a10 = v1.fma(xa, a10);
                a11 = v1.fma(xb, a11);
                v0 = ((FloatVector) q0.and(0x0F).sub(8).convert(VectorOperators.I2F, 0)).mul(d0);
                v1 = ((FloatVector) q1.and(0x0F).sub(8).convert(VectorOperators.I2F, 0)).mul(d1);
                xa = FloatVector.fromArray(F, x, xi + 8);
                xb = FloatVector.fromArray(F, x, x1 + 8);
                c00 = v0.fma(xa, c00);
                c01 = v0.fma(xb, c01);
                c10 = v1.fma(xa, c10);
                c11 = v1.fma(xb, c11);
                v0 = ((FloatVector) p0.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d0);
                v1 = ((FloatVector) p1.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d1);
                xa = FloatVector.fromArray(F, x, xi + 16);
                xb = FloatVector.fromArray(F, x, x1 + 16);
                a00 = v0.fma(xa, a00);
                a01 = v0.fma(xb, a01);
                a10 = v1.fma(xa, a10);
                a11 = v1.fma(xb, a11);
                v0 = ((FloatVector) q0.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d0);
                v1 = ((FloatVector) q1.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d1);
                xa = FloatVector.fromArray(F, x, xi + 24);
                xb = FloatVector.fromArray(F, x, x1 + 24);
                c00 = v0.fma(xa, c00);
                c01 = v0.fma(xb, c01);
                c10 = v1.fma(xa, c10);
                c11 = v1.fma(xb, c11);
            }
            a00.add(c00).intoArray(lanes, 0);
            a01.add(c01).intoArray(lanes, 8);
            a10.add(c10).intoArray(lanes, 16);
            a11.add(c11).intoArray(lanes, 24);
            TensorFormat.sumTwoRowsTimesTwo(lanes, y, yOffset, m, r0, pair ? r1 : -1);
        }
    }

    /**
     * One weight row against four activation rows, for {@link TensorFormat#eightLaneBatch}: each chunk decoded
     * once, then four FMAs.
     */
    static void rowTimesFour(MemorySegment s, long row, int blocks, float[] x, int x0, int x1, int x2, int x3,
                             float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        for (int b = 0; b < blocks; b++) {
            long block = row + (long) b * BLOCK_BYTES;
            int o = b * QK;
            float d = TensorFormat.fp16(s, block);
            IntVector p = eightNibbleBytes(s, block + 2), q = eightNibbleBytes(s, block + 10);
            FloatVector v = ((FloatVector) p.and(0x0F).sub(8).convert(VectorOperators.I2F, 0)).mul(d);
            a0 = v.fma(FloatVector.fromArray(F, x, x0 + o), a0);
            a1 = v.fma(FloatVector.fromArray(F, x, x1 + o), a1);
            a2 = v.fma(FloatVector.fromArray(F, x, x2 + o), a2);
            a3 = v.fma(FloatVector.fromArray(F, x, x3 + o), a3);
            v = ((FloatVector) q.and(0x0F).sub(8).convert(VectorOperators.I2F, 0)).mul(d);
            c0 = v.fma(FloatVector.fromArray(F, x, x0 + o + 8), c0);
            c1 = v.fma(FloatVector.fromArray(F, x, x1 + o + 8), c1);
            c2 = v.fma(FloatVector.fromArray(F, x, x2 + o + 8), c2);
            c3 = v.fma(FloatVector.fromArray(F, x, x3 + o + 8), c3);
            v = ((FloatVector) p.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d);
            a0 = v.fma(FloatVector.fromArray(F, x, x0 + o + 16), a0);
            a1 = v.fma(FloatVector.fromArray(F, x, x1 + o + 16), a1);
            a2 = v.fma(FloatVector.fromArray(F, x, x2 + o + 16), a2);
            a3 = v.fma(FloatVector.fromArray(F, x, x3 + o + 16), a3);
            v = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d);
            c0 = v.fma(FloatVector.fromArray(F, x, x0 + o + 24), c0);
            c1 = v.fma(FloatVector.fromArray(F, x, x1 + o + 24), c1);
            c2 = v.fma(FloatVector.fromArray(F, x, x2 + o + 24), c2);
            c3 = v.fma(FloatVector.fromArray(F, x, x3 + o + 24), c3);
        }
        a0.add(c0).intoArray(lanes, 0);
        a1.add(c1).intoArray(lanes, 8);
        a2.add(c2).intoArray(lanes, 16);
        a3.add(c3).intoArray(lanes, 24);
    }

    /** Eight nibble bytes from {@code at}, zero-extended to the int lanes of a 256-bit vector. */
    private static IntVector eightNibbleBytes(MemorySegment s, long at) {
        return (IntVector) ByteVector.fromMemorySegment(B, s, at, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }
}
