package dev.pipeinfer.transformer.tokenizer;

import java.util.Arrays;

/** A growable list of token ids, so encoding does not box every id. */
final class TokenList {
    private int[] ids = new int[64];
    private int size;

    void add(int id) {
        if (size == ids.length) ids = Arrays.copyOf(ids, size * 2);
        ids[size++] = id;
    }

    int size() {
        return size;
    }

    int get(int i) {
        return ids[i];
    }

    int[] toArray() {
        return Arrays.copyOf(ids, size);
    }
}
