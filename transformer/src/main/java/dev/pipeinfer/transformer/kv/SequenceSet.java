package dev.pipeinfer.transformer.kv;

/**
 * Sets of sequence ids as a {@code long} bitmask: bit s set means sequence s (0..63) is in the set.
 * Sequence 0 is the accepted text; speculative runs and tree branches use the others (DESIGN §6).
 */
public final class SequenceSet {
    /** The largest number of distinct sequences a set can hold. */
    public static final int MAX_SEQUENCES = 64;
    public static final long EMPTY = 0L;

    private SequenceSet() {}

    /** The set holding exactly {@code seq}. */
    public static long of(int seq) {
        return 1L << checkId(seq);
    }

    public static long of(int... seqs) {
        long set = 0;
        for (int s : seqs) set |= of(s);
        return set;
    }

    public static boolean contains(long set, int seq) {
        return (set & of(seq)) != 0;
    }

    public static boolean intersects(long a, long b) {
        return (a & b) != 0;
    }

    public static int checkId(int seq) {
        if (seq < 0 || seq >= MAX_SEQUENCES) {
            throw new IllegalArgumentException("sequence id " + seq + " out of range 0.." + (MAX_SEQUENCES - 1));
        }
        return seq;
    }

    public static String toString(long set) {
        StringBuilder sb = new StringBuilder("{");
        for (long rest = set; rest != 0; rest &= rest - 1) {
            if (sb.length() > 1) sb.append(',');
            sb.append(Long.numberOfTrailingZeros(rest));
        }
        return sb.append('}').toString();
    }
}
