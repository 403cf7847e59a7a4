package dev.pipeinfer.speculation;

/**
 * The head's pool of sequence ids for runs in flight (DESIGN §6): 1..63, sequence 0 being the accepted
 * text. A run takes one id per branch and gives them back when it is verified or cancelled; the KV edit
 * that removes the ids from the caches is sent before any later run can reuse them.
 */
final class SequencePool {
    private long free = -2L; // bits 1..63

    int available() {
        return Long.bitCount(free);
    }

    int[] take(int n) {
        if (n > available()) throw new IllegalStateException("sequence ids exhausted: " + n + " wanted, " + available() + " free");
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            int id = Long.numberOfTrailingZeros(free);
            free &= ~(1L << id);
            ids[i] = id;
        }
        return ids;
    }

    void give(int[] ids) {
        for (int id : ids) {
            if ((free & (1L << id)) != 0 || id == 0) throw new IllegalStateException("sequence id " + id + " returned twice");
            free |= 1L << id;
        }
    }
}
