package dev.pipeinfer.transformer.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.PriorityQueue;

/**
 * SentencePiece tokenization as llama.cpp implements it for {@code tokenizer.ggml.model = "llama"}
 * (vocabulary type SPM): spaces become U+2581, a space is put in front of the text and after every special
 * token (when {@code add_space_prefix}, the default), then adjacent symbols are merged greedily, the pair
 * whose concatenation is the vocabulary entry with the highest score first (leftmost on ties), until no
 * pair forms an entry. Characters that never became an entry are emitted as byte tokens {@code <0xXX>}.
 */
final class SentencePieceTokenizer extends VocabularyTokenizer {
    private static final char ESCAPED_SPACE = '\u2581';

    private final float[] scores;
    /** The token of each byte value, or -1 when the vocabulary lacks it (then encoding that byte fails). */
    private final int[] byteTokens = new int[256];

    SentencePieceTokenizer(Vocabulary v) {
        super(v, new Defaults(1, 2, 0, true, false, true, false));
        scores = new float[v.size()];
        for (int id = 0; id < scores.length; id++) scores[id] = v.score(id);
        for (int b = 0; b < 256; b++) {
            Integer id = idOfText.get(String.format("<0x%02X>", b));
            // llama.cpp falls back to the byte itself as a one-character token (only possible for ASCII here)
            if (id == null && b < 0x80) id = idOfText.get(String.valueOf((char) b));
            byteTokens[b] = id == null ? -1 : id;
        }
        buildPieceCache();
    }

    @Override
    protected byte[] renderPiece(int id) {
        int attr = attributes[id];
        if ((attr & (ATTR_UNKNOWN | ATTR_CONTROL | ATTR_USER_DEFINED)) != 0) return texts[id].getBytes(StandardCharsets.UTF_8);
        if ((attr & ATTR_NORMAL) != 0) return texts[id].replace(ESCAPED_SPACE, ' ').getBytes(StandardCharsets.UTF_8);
        if ((attr & ATTR_BYTE) != 0) return new byte[] {(byte) Integer.parseInt(texts[id].substring(3, 5), 16)};
        return new byte[0];   // unused and undefined tokens print nothing
    }

    /** One symbol of the text being merged: {@code [start, start + length)} in UTF-16 units, in a linked list. */
    private static final class Symbol {
        int start;
        int length;
        int prev;
        int next;
    }

    /** A candidate merge of two adjacent symbols; {@code length} detects that one of them changed since. */
    private record Bigram(int left, int right, float score, int length) {}

    private static final Comparator<Bigram> BEST_FIRST = (a, b) -> {
        int byScore = Float.compare(b.score, a.score);
        return byScore != 0 ? byScore : Integer.compare(a.left, b.left);
    };

    @Override
    protected void encodeFragment(String fragment, boolean afterSpecial, TokenList out) {
        String text = (addSpacePrefix && afterSpecial ? " " + fragment : fragment).replace(' ', ESCAPED_SPACE);

        // One symbol per character (a code point; a UTF-8 character in llama.cpp).
        int n = text.codePointCount(0, text.length());
        Symbol[] symbols = new Symbol[n];
        for (int i = 0, pos = 0; i < n; i++) {
            Symbol s = new Symbol();
            s.start = pos;
            s.length = Character.charCount(text.codePointAt(pos));
            pos += s.length;
            s.prev = i - 1;
            s.next = i + 1 < n ? i + 1 : -1;
            symbols[i] = s;
        }

        PriorityQueue<Bigram> queue = new PriorityQueue<>(Math.max(1, n), BEST_FIRST);
        for (int i = 1; i < n; i++) offerBigram(text, symbols, i - 1, i, queue);
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            Symbol left = symbols[b.left];
            Symbol right = symbols[b.right];
            if (left.length == 0 || right.length == 0 || left.length + right.length != b.length) continue;   // stale
            left.length += right.length;
            right.length = 0;
            left.next = right.next;
            if (right.next >= 0) symbols[right.next].prev = b.left;
            offerBigram(text, symbols, left.prev, b.left, queue);
            offerBigram(text, symbols, b.left, left.next, queue);
        }

        for (int i = n > 0 ? 0 : -1; i != -1; i = symbols[i].next) {
            Symbol s = symbols[i];
            String piece = text.substring(s.start, s.start + s.length);
            Integer id = idOfText.get(piece);
            if (id != null) {
                out.add(id);
            } else {
                // Only single characters can be missing: every merged symbol is a vocabulary entry.
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) out.add(byteToken(b & 0xFF));
            }
        }
    }

    private void offerBigram(String text, Symbol[] symbols, int left, int right, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) return;
        Symbol l = symbols[left];
        int length = l.length + symbols[right].length;
        Integer id = idOfText.get(text.substring(l.start, l.start + length));
        if (id == null) return;
        queue.add(new Bigram(left, right, scores[id], length));
    }

    private int byteToken(int b) {
        int id = byteTokens[b];
        if (id < 0) {
            throw new IllegalStateException(String.format(
                    "SentencePiece vocabulary has no byte token <0x%02X> for a character it cannot spell", b));
        }
        return id;
    }
}
