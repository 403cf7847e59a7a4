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
import static dev.pipeinfer.tensor.Int8Matmul.biasedPairSums;

/**
 * {@link Q4_0Format} weights times {@link MatmulActivations#INT8} activations (llama.cpp's
 * {@code ggml_vec_dot_q4_0_q8_0}): a block's 16 bytes widen once to 16-bit lanes, whose low nibbles minus 8 are
 * weights 0-15 and high nibbles minus 8 weights 16-31. Four products of a pair of lanes stay below
 * 4 x 8 x 127, so {@link Int8Matmul#smallPairSums} applies to the decoded rows; the fused kernels take the
 * nibbles unsigned and the activations' offsets (see below).
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

    /*
     * The fused kernels multiply the nibbles as they are (0-15) and subtract the offset of 8 through the
     * activations' nibbleOffsets, which also bias each lane for Int8Matmul.biasedPairSums: every lane then holds
     * the integer the signed nibbles would give (plus 2^15), so the pair sums, and the floats, are those of
     * decodedRowTimesTwo. The scale d_weight * d_activation is rounded once, as there.
     */

    @Override
    public void twoRows(MemorySegment s, long row0, long row1, int blocks, Int8Activations x, KernelScratch scratch) {
        short[] xq = x.quants, offsets = x.nibbleOffsets;
        float[] xd = x.scaleLanes;
        FloatVector acc0 = FloatVector.zero(F8), acc1 = acc0;
        long apart = row1 - row0;
        long o0 = row0;
        for (int i = 0; i < 8 * blocks; i += 8) {
            ShortVector xLow = ShortVector.fromArray(S16, xq, 4 * i), xHigh = ShortVector.fromArray(S16, xq, 4 * i + 16);
            ShortVector offset = ShortVector.fromArray(S16, offsets, 2 * i);
            FloatVector dx = FloatVector.fromArray(F8, xd, i);
            long o1 = o0 + apart;
            ShortVector v0 = packed(s, o0 + 2), v1 = packed(s, o1 + 2);
            FloatVector d0 = FloatVector.broadcast(F8, HalfFloatTable.fp16(s, o0)).mul(dx);
            FloatVector d1 = FloatVector.broadcast(F8, HalfFloatTable.fp16(s, o1)).mul(dx);
            ShortVector p0 = v0.and((short) 0xF).mul(xLow).add(v0.lanewise(VectorOperators.LSHR, 4).mul(xHigh)).sub(offset);
            ShortVector p1 = v1.and((short) 0xF).mul(xLow).add(v1.lanewise(VectorOperators.LSHR, 4).mul(xHigh)).sub(offset);
            acc0 = biasedPairSums(p0).fma(d0, acc0);
            acc1 = biasedPairSums(p1).fma(d1, acc1);
            o0 += BLOCK_BYTES;
        }
        Int8Matmul.finishTwo(acc0, acc1, scratch.lanes);
    }

    @Override
    public void rowTimesTwo(MemorySegment s, long row, int blocks, Int8Activations x, int j0, int j1,
                            KernelScratch scratch) {
        short[] xq = x.quants, offsets = x.nibbleOffsets;
        float[] xd = x.scaleLanes;
        int x0 = j0 * blocks * 32, x1 = j1 * blocks * 32, s0 = j0 * blocks, s1 = j1 * blocks;
        FloatVector acc0 = FloatVector.zero(F8), acc1 = acc0;
        for (int b = 0; b < blocks; b++) {
            long o = row + (long) b * BLOCK_BYTES;
            int xi = b * 32;
            ShortVector v = packed(s, o + 2);
            FloatVector d = FloatVector.broadcast(F8, HalfFloatTable.fp16(s, o));
            ShortVector low = v.and((short) 0xF), high = v.lanewise(VectorOperators.LSHR, 4);
            ShortVector p0 = low.mul(ShortVector.fromArray(S16, xq, x0 + xi)).add(high.mul(ShortVector.fromArray(S16, xq, x0 + xi + 16)))
                    .sub(ShortVector.fromArray(S16, offsets, (s0 + b) * 16));
            ShortVector p1 = low.mul(ShortVector.fromArray(S16, xq, x1 + xi)).add(high.mul(ShortVector.fromArray(S16, xq, x1 + xi + 16)))
                    .sub(ShortVector.fromArray(S16, offsets, (s1 + b) * 16));
            acc0 = biasedPairSums(p0).fma(d.mul(FloatVector.fromArray(F8, xd, (s0 + b) * 8)), acc0);
            acc1 = biasedPairSums(p1).fma(d.mul(FloatVector.fromArray(F8, xd, (s1 + b) * 8)), acc1);
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
