package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.LANES;

/**
 * e^x for softmax weights (x = score - max, so x <= 0), {@link Lanes#LANES} values at a time, within 2 ulp
 * of {@link Math#exp}.
 *
 * <p>Why not {@code Math.exp} per value: at ~20 ns each it was most of a small model's attention (stories260K
 * scores a few thousand cells per token). Why not the Vector API's {@code EXP}: compiled, it calls the JDK's
 * SVML stub; cold, its Java fallback calls {@code Math.exp}; the two can differ in the last bit, and batch
 * invariance needs the same bits whether or not a method has been compiled yet. This one uses only FMA, add,
 * multiply and integer shifts, which are exact in both.
 *
 * <p>Method: x = n ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2 (ln2 split in a short high part and
 * a low correction so n ln2 is exact enough), e^r by its Taylor polynomial to degree 7 (Horner with FMA,
 * truncation under 1e-8 relative), and 2^n added to the exponent bits. Below -86 the result is 0
 * (e^-86 = 4e-38 cannot move a softmax whose largest weight is 1).
 */
public final class Exponential {
    private static final float LOG2_E = 1.44269504f;
    private static final float LN2_HIGH = 0.693145751953125f; // 12 significant bits: n * LN2_HIGH is exact
    private static final float LN2_LOW = 1.42860677e-6f;
    private static final float ROUNDER = 12582912f; // 1.5 * 2^23: adding it rounds to an integer in the low bits
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    private static final float LOWEST = -86f;

    private Exponential() {}

    /** s[j] = e^(s[j] - shift) for j in [0, count), with shift >= every s[j]. */
    public static void expShifted(float[] s, int count, float shift) {
        expShifted(s, count, shift, s);
    }

    /**
     * dst[j] = e^(src[j] - shift) for j in [0, count), with shift >= every src[j] (dst may be src).
     *
     * <p>The vector exponential is written out in this loop rather than kept in a helper taking and returning
     * a vector: such a helper was not always inlined (C2 gave up on it inside the attention with
     * NodeCountInliningCutoff), and then every call boxed its argument and its result; JFR counted over
     * 100 MB/s of that garbage on the stage and draft threads of a stories260K {@code bench-modes} run. The
     * blend takes a vector constant, not a scalar: the scalar form goes through a call inside the Vector API
     * whose type profile the whole JVM shares, and that blend, too, was found boxed.
     */
    public static void expShifted(float[] src, int count, float shift, float[] dst) {
        expShifted(src, 0, count, shift, dst, 0);
    }

    /** {@code dst[dstOffset + j] = e^(src[srcOffset + j] - shift)} for j in [0, count), as above. */
    public static void expShifted(float[] src, int srcOffset, int count, float shift, float[] dst, int dstOffset) {
        for (int j = 0; j < count; j += LANES) {
            VectorMask<Float> lanes = F.indexInRange(j, count); // all but at the end
            FloatVector x = FloatVector.fromArray(F, src, srcOffset + j, lanes).sub(shift);
            VectorMask<Float> vanishing = x.compare(VectorOperators.LT, LOWEST);
            FloatVector clamped = x.max(LOWEST);
            FloatVector rounded = clamped.fma(LOG2_E, ROUNDER);
            FloatVector n = rounded.sub(ROUNDER);
            FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HIGH), clamped);
            r = n.fma(FloatVector.broadcast(F, -LN2_LOW), r);
            FloatVector p = r.fma(1f / 5040, 1f / 720);
            p = p.fma(r, FloatVector.broadcast(F, 1f / 120));
            p = p.fma(r, FloatVector.broadcast(F, 1f / 24));
            p = p.fma(r, FloatVector.broadcast(F, 1f / 6));
            p = p.fma(r, FloatVector.broadcast(F, 0.5f));
            p = p.fma(r, FloatVector.broadcast(F, 1f));
            p = p.fma(r, FloatVector.broadcast(F, 1f));
            IntVector twoToN = ((IntVector) rounded.reinterpretAsInts()).sub(ROUNDER_BITS).lanewise(VectorOperators.LSHL, 23);
            ((IntVector) p.reinterpretAsInts()).add(twoToN).reinterpretAsFloats().blend(ZERO, vanishing).intoArray(dst, dstOffset + j, lanes);
        }
    }

    private static final FloatVector ZERO = FloatVector.zero(F);

    /** The same function one value at a time (the reference the tests hold the vector form to). */
    public static float exp(float x) {
        if (x < LOWEST) return 0f;
        float rounded = Math.fma(x, LOG2_E, ROUNDER);
        float n = rounded - ROUNDER;
        float r = Math.fma(n, -LN2_HIGH, x);
        r = Math.fma(n, -LN2_LOW, r);
        float p = Math.fma(r, 1f / 5040, 1f / 720);
        p = Math.fma(p, r, 1f / 120);
        p = Math.fma(p, r, 1f / 24);
        p = Math.fma(p, r, 1f / 6);
        p = Math.fma(p, r, 0.5f);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        int twoToN = (Float.floatToRawIntBits(rounded) - ROUNDER_BITS) << 23;
        return Float.intBitsToFloat(Float.floatToRawIntBits(p) + twoToN);
    }
}
