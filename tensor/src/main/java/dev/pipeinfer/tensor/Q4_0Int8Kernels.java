package dev.pipeinfer.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Int8Matmul.F8;
import static dev.pipeinfer.tensor.Int8Matmul.S16;
import static dev.pipeinfer.tensor.Int8Matmul.smallPairSums;

/**
 * {@link Q4_0Format} weights times {@link MatmulActivations#INT8} activations (llama.cpp's
 * {@code ggml_vec_dot_q4_0_q8_0}): a block's 16 bytes widen once to 16-bit lanes, whose low nibbles minus 8 are
 * weights 0-15 and high nibbles minus 8 weights 16-31. Four products of a pair of lanes stay below
 * 4 x 8 x 127, so {@link Int8Matmul#smallPairSums} applies.
 */
final class Q4_0Int8Kernels implements Int8Matmul.Kernels {
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final int BLOCK_BYTES = Q4_0Format.BLOCK_BYTES;
    private static final ShortVector EIGHT = ShortVector.broadcast(S16, (short) 8);

    @Override
    public float dotScalar(MemorySegment s, long row, int blocks, Int8Activations x, int j) {
        return Int8Matmul.dotScalarBlocksOf32(s, row, blocks, BLOCK_BYTES, x, j, Q4_0Int8Kernels::blockDot);
    }

    /** The scalar reference of one block: the exact integer dot product of its quants with {@code xq[at .. at + 32)}. */
    static int blockDot(MemorySegment s, long block, short[] xq, int at) {
        int sum = 0;
        for (int i = 0; i < 16; i++) {
            int packed = TensorFormat.u8(s, block + 2 + i);
            sum += ((packed & 0xF) - 8) * xq[at + i] + ((packed >> 4) - 8) * xq[at + 16 + i];
        }
        return sum;
    }

    /** The block's 16 bytes at {@code at}, zero-extended to 16-bit lanes. */
    private static ShortVector packed(MemorySegment s, long at) {
        return (ShortVector) ByteVector.fromMemorySegment(B16, s, at, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
    }

    @Override
    public void twoRows(MemorySegment s, long row0, long row1, int blocks, Int8Activations x, KernelScratch scratch) {
        short[] xq = x.quants;
        float[] xd = x.scales;
        FloatVector acc0 = FloatVector.zero(F8), acc1 = acc0;
        long apart = row1 - row0;
        for (int b = 0; b < blocks; b++) {
            long o0 = row0 + (long) b * BLOCK_BYTES, o1 = o0 + apart;
            int xi = b * 32;
            ShortVector xLow = ShortVector.fromArray(S16, xq, xi), xHigh = ShortVector.fromArray(S16, xq, xi + 16);
            ShortVector v0 = packed(s, o0 + 2), v1 = packed(s, o1 + 2);
            float dx = xd[b];
            float d0 = TensorFormat.fp16(s, o0) * dx, d1 = TensorFormat.fp16(s, o1) * dx;
            ShortVector low0 = v0.and((short) 0xF).sub(EIGHT), high0 = v0.lanewise(VectorOperators.LSHR, 4).sub(EIGHT);
            ShortVector low1 = v1.and((short) 0xF).sub(EIGHT), high1 = v1.lanewise(VectorOperators.LSHR, 4).sub(EIGHT);
            acc0 = smallPairSums(low0.mul(xLow).add(high0.mul(xHigh))).fma(FloatVector.broadcast(F8, d0), acc0);
            acc1 = smallPairSums(low1.mul(xLow).add(high1.mul(xHigh))).fma(FloatVector.broadcast(F8, d1), acc1);
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
            ShortVector v = packed(s, o + 2);
            float d = TensorFormat.fp16(s, o);
            ShortVector low = v.and((short) 0xF).sub(EIGHT), high = v.lanewise(VectorOperators.LSHR, 4).sub(EIGHT);
            ShortVector p0 = low.mul(ShortVector.fromArray(S16, xq, x0 + xi)).add(high.mul(ShortVector.fromArray(S16, xq, x0 + xi + 16)));
            ShortVector p1 = low.mul(ShortVector.fromArray(S16, xq, x1 + xi)).add(high.mul(ShortVector.fromArray(S16, xq, x1 + xi + 16)));
            acc0 = smallPairSums(p0).fma(FloatVector.broadcast(F8, d * xd[s0 + b]), acc0);
            acc1 = smallPairSums(p1).fma(FloatVector.broadcast(F8, d * xd[s1 + b]), acc1);
        }
        Int8Matmul.finishTwo(acc0, acc1, scratch.lanes);
    }

    @Override
    public boolean decode(MemorySegment s, long row, int blocks, short[] quants, float[] scales) {
        for (int b = 0; b < blocks; b++) {
            long o = row + (long) b * BLOCK_BYTES;
            ShortVector v = packed(s, o + 2);
            v.and((short) 0xF).sub(EIGHT).intoArray(quants, b * 32);
            v.lanewise(VectorOperators.LSHR, 4).sub(EIGHT).intoArray(quants, b * 32 + 16);
            scales[b] = TensorFormat.fp16(s, o);
        }
        return true;
    }
}
