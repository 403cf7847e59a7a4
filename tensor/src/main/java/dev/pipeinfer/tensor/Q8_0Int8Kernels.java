package dev.pipeinfer.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Int8Matmul.F8;
import static dev.pipeinfer.tensor.Int8Matmul.S16;
import static dev.pipeinfer.tensor.Int8Matmul.pairSums;

/**
 * {@link Q8_0Format} weights times {@link MatmulActivations#INT8} activations (llama.cpp's
 * {@code ggml_vec_dot_q8_0_q8_0}): a block's two halves of 16 signed bytes widen to 16-bit lanes and multiply
 * the activation quants' halves; the two products per lane (at most 2 x 128 x 127) still fit 16 bits.
 */
final class Q8_0Int8Kernels implements Int8Matmul.Kernels {
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final int BLOCK_BYTES = Q8_0Format.BLOCK_BYTES;

    @Override
    public int blockBytes() {
        return BLOCK_BYTES;
    }

    @Override
    public float scale(MemorySegment s, long block) {
        return TensorFormat.fp16(s, block);
    }

    @Override
    public int blockDot(MemorySegment s, long block, short[] xq, int at) {
        int sum = 0;
        for (int i = 0; i < Int8Matmul.QK; i++) sum += s.get(ValueLayout.JAVA_BYTE, block + 2 + i) * xq[at + i];
        return sum;
    }

    /** 16 signed bytes at {@code at}, widened to 16-bit lanes. */
    private static ShortVector quants(MemorySegment s, long at) {
        return (ShortVector) ByteVector.fromMemorySegment(B16, s, at, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2S, S16, 0);
    }

    @Override
    public void twoRows(MemorySegment s, long row0, long row1, int blocks, short[] xq, float[] xd, float[] lanes) {
        FloatVector acc0 = FloatVector.zero(F8), acc1 = acc0;
        for (int b = 0; b < blocks; b++) {
            long o0 = row0 + (long) b * BLOCK_BYTES, o1 = row1 + (long) b * BLOCK_BYTES;
            int xi = b * Int8Matmul.QK;
            ShortVector xLow = ShortVector.fromArray(S16, xq, xi), xHigh = ShortVector.fromArray(S16, xq, xi + 16);
            ShortVector low0 = quants(s, o0 + 2), high0 = quants(s, o0 + 18);
            ShortVector low1 = quants(s, o1 + 2), high1 = quants(s, o1 + 18);
            float dx = xd[b];
            float d0 = TensorFormat.fp16(s, o0) * dx, d1 = TensorFormat.fp16(s, o1) * dx;
            acc0 = pairSums(low0.mul(xLow).add(high0.mul(xHigh))).fma(FloatVector.broadcast(F8, d0), acc0);
            acc1 = pairSums(low1.mul(xLow).add(high1.mul(xHigh))).fma(FloatVector.broadcast(F8, d1), acc1);
        }
        acc0.intoArray(lanes, 0);
        acc1.intoArray(lanes, 8);
    }

    @Override
    public boolean smallProducts() {
        return false; // two products of a lane alone reach 2 x 128 x 127
    }

    @Override
    public void decode(MemorySegment s, long row, int blocks, short[] quants, float[] scales) {
        for (int b = 0; b < blocks; b++) {
            long o = row + (long) b * BLOCK_BYTES;
            quants(s, o + 2).intoArray(quants, b * Int8Matmul.QK);
            quants(s, o + 18).intoArray(quants, b * Int8Matmul.QK + 16);
            scales[b] = TensorFormat.fp16(s, o);
        }
    }
}
