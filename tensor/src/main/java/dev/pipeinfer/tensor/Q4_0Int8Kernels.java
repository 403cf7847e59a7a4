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
    public void twoRows(MemorySegment s, long row0, long row1, int blocks, short[] xq, float[] xd, float[] lanes) {
        FloatVector acc0 = FloatVector.zero(F8), acc1 = acc0;
        for (int b = 0; b < blocks; b++) {
            long o0 = row0 + (long) b * BLOCK_BYTES, o1 = row1 + (long) b * BLOCK_BYTES;
            int xi = b * Int8Matmul.QK;
            ShortVector xLow = ShortVector.fromArray(S16, xq, xi), xHigh = ShortVector.fromArray(S16, xq, xi + 16);
            ShortVector v0 = packed(s, o0 + 2), v1 = packed(s, o1 + 2);
            float dx = xd[b];
            float d0 = TensorFormat.fp16(s, o0) * dx, d1 = TensorFormat.fp16(s, o1) * dx;
            ShortVector low0 = v0.and((short) 0xF).sub(EIGHT), high0 = v0.lanewise(VectorOperators.LSHR, 4).sub(EIGHT);
            ShortVector low1 = v1.and((short) 0xF).sub(EIGHT), high1 = v1.lanewise(VectorOperators.LSHR, 4).sub(EIGHT);
            acc0 = smallPairSums(low0.mul(xLow).add(high0.mul(xHigh))).fma(FloatVector.broadcast(F8, d0), acc0);
            acc1 = smallPairSums(low1.mul(xLow).add(high1.mul(xHigh))).fma(FloatVector.broadcast(F8, d1), acc1);
        }
        acc0.intoArray(lanes, 0);
        acc1.intoArray(lanes, 8);
    }

    @Override
    public boolean smallProducts() {
        return true; // weights -8..7: four products of a pair at most 4 x 8 x 127
    }

    @Override
    public void decode(MemorySegment s, long row, int blocks, short[] quants, float[] scales) {
        for (int b = 0; b < blocks; b++) {
            long o = row + (long) b * BLOCK_BYTES;
            ShortVector v = packed(s, o + 2);
            v.and((short) 0xF).sub(EIGHT).intoArray(quants, b * Int8Matmul.QK);
            v.lanewise(VectorOperators.LSHR, 4).sub(EIGHT).intoArray(quants, b * Int8Matmul.QK + 16);
            scales[b] = TensorFormat.fp16(s, o);
        }
    }
}
