package dev.pipeinfer.pipeline;

import java.util.List;

/**
 * Edits of the sequence-tagged KV cache (DESIGN section 6), sent down the pipeline in order with the
 * runs, so every stage applies them at the same point of its stream.
 */
public record KvEdit(List<Op> ops) implements Message {

    public KvEdit {
        if (ops == null || ops.isEmpty()) throw new IllegalArgumentException("KV edit with no operations");
        ops = List.copyOf(ops);
    }

    public static KvEdit of(Op... ops) {
        return new KvEdit(List.of(ops));
    }

    /** One cache operation; positions are half-open [p0, p1), sequence ids are 0..63. */
    public sealed interface Op permits Commit, Remove, Keep {
    }

    /** Adds sequence {@code dst} to every cell of sequence {@code src} with position in [p0,p1). */
    public record Commit(int src, int dst, int p0, int p1) implements Op {
        public Commit {
            checkSequence(src);
            checkSequence(dst);
            checkRange(p0, p1);
        }
    }

    /** Removes sequence {@code seq} from cells with position in [p0,p1); cells left with no sequence are freed. */
    public record Remove(int seq, int p0, int p1) implements Op {
        public Remove {
            checkSequence(seq);
            checkRange(p0, p1);
        }
    }

    /** Keeps only sequence {@code seq}: every other sequence is removed from every cell. */
    public record Keep(int seq) implements Op {
        public Keep {
            checkSequence(seq);
        }
    }

    public static final int MAX_SEQUENCES = 64;

    private static void checkSequence(int seq) {
        if (seq < 0 || seq >= MAX_SEQUENCES) {
            throw new IllegalArgumentException("sequence id " + seq + " outside [0," + MAX_SEQUENCES + ")");
        }
    }

    private static void checkRange(int p0, int p1) {
        if (p0 < 0 || p1 < p0) throw new IllegalArgumentException("position range [" + p0 + "," + p1 + ")");
    }

    @Override
    public long nominalBytes() {
        return 8 + 16L * ops.size();
    }
}
