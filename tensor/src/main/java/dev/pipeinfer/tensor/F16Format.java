package dev.pipeinfer.tensor;

import dev.pipeinfer.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.I;
import static dev.pipeinfer.tensor.Lanes.LANES;
import static dev.pipeinfer.tensor.Lanes.S;

/** F16: IEEE binary16, little-endian, no blocks. Conversion in both directions is exact / round-to-nearest-even. */
public final class F16Format extends TensorFormat {
    F16Format() {
        super(GgmlType.F16);
    }

    @Override
    public void dequantizeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        for (int i = 0; i < k; i++) dst[dstOffset + i] = Float.float16ToFloat(src.get(LE_SHORT, offset + 2L * i));
    }

    /** Vectorized as in {@link #toFloats}, bit-identical to the scalar conversion. */
    @Override
    public void decodeRow(MemorySegment src, long offset, float[] dst, int dstOffset, int k) {
        int i = 0;
        if (Lanes.USABLE) {
            for (; i + LANES <= k; i += LANES) {
                IntVector h = (IntVector) ShortVector.fromMemorySegment(S, src, offset + 2L * i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
                // binary16 -> float without branches (see toFloats), written out so no vector crosses a call
                IntVector shifted = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
                IntVector finite = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
                IntVector bits = finite.blend(shifted.or(0x7f800000), h.and(0x7c00).compare(VectorOperators.EQ, 0x7c00));
                bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats().intoArray(dst, dstOffset + i);
            }
        }
        dequantizeRow(src, offset + 2L * i, dst, dstOffset + i, k - i);
    }

    /**
     * binary16 values (zero-extended in int lanes) to floats, exactly, without branches. The Vector API has
     * no half-float conversion, so this rebuilds the float bits: the 15 magnitude bits shifted into place
     * read as a float 2^112 too small (for normals and subnormals alike) and one multiply by 2^112 fixes the
     * exponent exactly; lanes with exponent 31 (Inf/NaN) instead get the float exponent 255 with the same
     * mantissa; the sign is OR-ed back last.
     */
    static FloatVector toFloats(IntVector h) {
        IntVector shifted = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
        IntVector finite = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        IntVector bits = finite.blend(shifted.or(0x7f800000), h.and(0x7c00).compare(VectorOperators.EQ, 0x7c00));
        return bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
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
