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
import static dev.pipeinfer.tensor.Int8Matmul.biased;
import static dev.pipeinfer.tensor.Int8Matmul.biasedPairSums;

/**
 * {@link Q8_0Format} weights times {@link MatmulActivations#INT8} activations (llama.cpp's
 * {@code ggml_vec_dot_q8_0_q8_0}): a block's two halves of 16 signed bytes widen to 16-bit lanes and multiply
 * the activation quants' halves; the two products per lane (at most 2 x 128 x 127) still fit 16 bits.
 */
final class Q8_0Int8Kernels implements Int8Matmul.Kernels {
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final int BLOCK_BYTES = Q8_0Format.BLOCK_BYTES;

    @Override
    public float dotScalar(MemorySegment s, long row, int blocks, Int8Activations x, int j) {
        return Int8Matmul.dotScalarBlocksOf32(s, row, blocks, BLOCK_BYTES, x, j, Q8_0Int8Kernels::blockDot);
    }

    /** The scalar reference of one block: the exact integer dot product of its quants with {@code xq[at .. at + 32)}. */
    static int blockDot(MemorySegment s, long block, short[] xq, int at) {
        int sum = 0;
        for (int i = 0; i < 32; i++) sum += s.get(ValueLayout.JAVA_BYTE, block + 2 + i) * xq[at + i];
        return sum;
    }

    /** 16 signed bytes at {@code at}, widened to 16-bit lanes. */
    private static ShortVector quants(MemorySegment s, long at) {
        return (ShortVector) ByteVector.fromMemorySegment(B16, s, at, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.B2S, S16, 0);
    }

    @Override
    public void twoRows(MemorySegment s, long row0, long row1, int blocks, Int8Activations x, KernelScratch scratch) {
        short[] xq = x.quants;
        float[] xd = x.scaleLanes;
        FloatVector acc0 = FloatVector.zero(F8), acc1 = acc0;
        long apart = row1 - row0, o0 = row0;
        for (int i = 0; i < 8 * blocks; i += 8, o0 += BLOCK_BYTES) {
            long o1 = o0 + apart;
            ShortVector xLow = ShortVector.fromArray(S16, xq, 4 * i), xHigh = ShortVector.fromArray(S16, xq, 4 * i + 16);
            FloatVector dx = FloatVector.fromArray(F8, xd, i);
            ShortVector low0 = quants(s, o0 + 2), high0 = quants(s, o0 + 18);
            ShortVector low1 = quants(s, o1 + 2), high1 = quants(s, o1 + 18);
            FloatVector d0 = FloatVector.broadcast(F8, HalfFloatTable.fp16(s, o0)).mul(dx);
            FloatVector d1 = FloatVector.broadcast(F8, HalfFloatTable.fp16(s, o1)).mul(dx);
            acc0 = biasedPairSums(biased(low0.mul(xLow).add(high0.mul(xHigh)))).fma(d0, acc0);
            acc1 = biasedPairSums(biased(low1.mul(xLow).add(high1.mul(xHigh)))).fma(d1, acc1);
        }
        Int8Matmul.finishTwo(acc0, acc1, scratch.lanes);
    }

    @Override
    public void rowTimesTwo(MemorySegment s, long row, int blocks, Int8Activations x, int j0, int j1,
                            KernelScratch scratch) {
        short[] xq = x.quants;
        float[] xd = x.scales;
        int x0 = j0 * blocks * 32, x1 = j1 * blocks * 32, s0 = j0 * blocks, s1 = j1 * blocks;
        FloatVector acc0 = FloatVector.zero(F8), acc1 = acc0;
        for (int b = 0; b < blocks; b++) {
            long o = row + (long) b * BLOCK_BYTES;
            int xi = b * 32;
            ShortVector low = quants(s, o + 2), high = quants(s, o + 18);
            float d = TensorFormat.fp16(s, o);
            ShortVector p0 = low.mul(ShortVector.fromArray(S16, xq, x0 + xi)).add(high.mul(ShortVector.fromArray(S16, xq, x0 + xi + 16)));
            ShortVector p1 = low.mul(ShortVector.fromArray(S16, xq, x1 + xi)).add(high.mul(ShortVector.fromArray(S16, xq, x1 + xi + 16)));
            acc0 = biasedPairSums(biased(p0)).fma(FloatVector.broadcast(F8, d * xd[s0 + b]), acc0);
            acc1 = biasedPairSums(biased(p1)).fma(FloatVector.broadcast(F8, d * xd[s1 + b]), acc1);
        }
        Int8Matmul.finishTwo(acc0, acc1, scratch.lanes);
    }
}
