package dev.pipeinfer.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;

import static dev.pipeinfer.tensor.Lanes.F;
import static dev.pipeinfer.tensor.Lanes.LANES;

/**
 * The end of every matmul output: the sum of its accumulator's lanes, in one fixed order (part of the order
 * {@link Dot} documents), with a scalar form and a form that sums four rows' accumulators at once.
 *
 * <p>The order is a halving tree: lane i is added to lane i + LANES/2, then the first half is halved the same
 * way, down to one value. Both forms add exactly the same pairs, so they give the same bits and any path may
 * use either. The four-row vector form exists because for short rows (k = 64 in draft-sized models) summing
 * sixteen lanes one by one cost as much as the row's products: it takes 12 permutes, 6 blends and 5 adds
 * for four rows instead of ~120 scalar operations.
 */
final class LaneSums {
    private LaneSums() {}

    /** The lanes of {@code acc[a .. a+LANES)} summed in the tree order. */
    static float of(float[] acc, int a) {
        if (LANES == 16) {
            float b0 = acc[a] + acc[a + 8], b1 = acc[a + 1] + acc[a + 9], b2 = acc[a + 2] + acc[a + 10];
            float b3 = acc[a + 3] + acc[a + 11], b4 = acc[a + 4] + acc[a + 12], b5 = acc[a + 5] + acc[a + 13];
            float b6 = acc[a + 6] + acc[a + 14], b7 = acc[a + 7] + acc[a + 15];
            float c0 = b0 + b4, c1 = b1 + b5, c2 = b2 + b6, c3 = b3 + b7;
            return (c0 + c2) + (c1 + c3);
        }
        if (LANES == 8) return ofEight(acc, a);
        float s = 0;
        for (int l = 0; l < LANES; l++) s += acc[a + l];
        return s;
    }

    /** Eight lanes at {@code acc[a ..]} in the tree order (also what the 256-bit int8 kernels use on every CPU). */
    static float ofEight(float[] acc, int a) {
        float c0 = acc[a] + acc[a + 4], c1 = acc[a + 1] + acc[a + 5], c2 = acc[a + 2] + acc[a + 6];
        float c3 = acc[a + 3] + acc[a + 7];
        return (c0 + c2) + (c1 + c3);
    }

    /** Whether {@link #sumFourRows} may be used (16 lanes). */
    static final boolean FOUR_ROWS = LANES == 16;

    private static final VectorMask<Float> UPPER_8 = FOUR_ROWS ? F.indexInRange(-8, 8) : null; // lanes 8-15
    private static final VectorShuffle<Float> ROTATE_8 = FOUR_ROWS ? shuffle(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7) : null;
    // Level 2: from [r0 (8) | r1 (8)] the first four of each row, resp. the second four, into lanes 0-7.
    private static final VectorShuffle<Float> FIRST_4S = FOUR_ROWS ? shuffle(0, 1, 2, 3, 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11) : null;
    private static final VectorShuffle<Float> SECOND_4S = FOUR_ROWS ? shuffle(4, 5, 6, 7, 12, 13, 14, 15, 4, 5, 6, 7, 12, 13, 14, 15) : null;
    // Level 3: from [r0 (4) | r1 (4) | r2 (4) | r3 (4)] lanes 0-1 resp. 2-3 of each row.
    private static final VectorShuffle<Float> FIRST_2S = FOUR_ROWS ? shuffle(0, 1, 4, 5, 8, 9, 12, 13, 0, 1, 4, 5, 8, 9, 12, 13) : null;
    private static final VectorShuffle<Float> SECOND_2S = FOUR_ROWS ? shuffle(2, 3, 6, 7, 10, 11, 14, 15, 2, 3, 6, 7, 10, 11, 14, 15) : null;
    // Level 4: from [r0 (2) | r1 (2) | r2 (2) | r3 (2) | ...] lane 0 resp. 1 of each row.
    private static final VectorShuffle<Float> EVENS = FOUR_ROWS ? shuffle(0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6) : null;
    private static final VectorShuffle<Float> ODDS = FOUR_ROWS ? shuffle(1, 3, 5, 7, 1, 3, 5, 7, 1, 3, 5, 7, 1, 3, 5, 7) : null;

    private static VectorShuffle<Float> shuffle(int... lanes) {
        return VectorShuffle.fromValues(F, lanes);
    }

    /**
     * y[at + i] = {@link #of} the accumulator at {@code acc[a + 16 i ..]}, for i in [0, rows), rows <= 4 (16 lanes
     * only; slots past {@code rows} may hold stale lanes, whose sums are not stored). {@code y} may be
     * {@code acc}: every load happens before the store.
     *
     * <p>Arrays in, arrays out, and the whole reduction written out here, so that no vector crosses a call:
     * the kernels passed their four accumulators to a helper taking vectors, which C2 did not inline once a
     * kernel was big enough (NodeCountInliningCutoff), and then every call boxed four vectors and its result.
     * JFR counted 0.9 GB/s of such garbage in a 1.1B Q4_0 decode on two threads. A kernel now stores its
     * accumulators to scratch and calls this; whether or not this is inlined, nothing is boxed.
     *
     * <p>The stores: four lanes as one 128-bit store, fewer one by one (a masked 16-lane store cost 10 % of a
     * draft-sized model's decode in JFR, and where its lanes reach past the array C2 compiles it lane by lane).
     */
    static void sumFourRows(float[] acc, int a, float[] y, int at, int rows) {
        FloatVector r0 = FloatVector.fromArray(F, acc, a), r1 = FloatVector.fromArray(F, acc, a + 16);
        FloatVector r2 = FloatVector.fromArray(F, acc, a + 32), r3 = FloatVector.fromArray(F, acc, a + 48);
        // Level 1, two rows per vector: [r0[i] + r0[i+8] (8) | r1[i] + r1[i+8] (8)].
        FloatVector b01 = r0.blend(r1.rearrange(ROTATE_8), UPPER_8).add(r1.blend(r0.rearrange(ROTATE_8), UPPER_8.not()));
        FloatVector b23 = r2.blend(r3.rearrange(ROTATE_8), UPPER_8).add(r3.blend(r2.rearrange(ROTATE_8), UPPER_8.not()));
        // Level 2, four rows: [b0[i] + b0[i+4] (4) | b1 .. | b2 .. | b3 ..].
        FloatVector c = b01.rearrange(FIRST_4S).blend(b23.rearrange(FIRST_4S), UPPER_8)
                .add(b01.rearrange(SECOND_4S).blend(b23.rearrange(SECOND_4S), UPPER_8));
        // Level 3: [c0[i] + c0[i+2] (2) | c1 .. | c2 .. | c3 ..] in lanes 0-7.
        FloatVector d = c.rearrange(FIRST_2S).add(c.rearrange(SECOND_2S));
        // Level 4: lane r = d_r[0] + d_r[1].
        FloatVector sums = d.rearrange(EVENS).add(d.rearrange(ODDS));
        if (rows == 4) {
            ((FloatVector) sums.reinterpretShape(FloatVector.SPECIES_128, 0)).intoArray(y, at);
            return;
        }
        y[at] = sums.lane(0);
        if (rows > 1) y[at + 1] = sums.lane(1);
        if (rows > 2) y[at + 2] = sums.lane(2);
    }
}
