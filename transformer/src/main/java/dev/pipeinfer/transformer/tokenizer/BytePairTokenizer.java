package dev.pipeinfer.transformer.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Byte-level BPE as llama.cpp implements it for {@code tokenizer.ggml.model = "gpt2"}: the pre-tokenizer
 * splits the text into words spelled in GPT-2's byte characters; within each word, adjacent symbols are
 * merged by the rank of the merge rule {@code "left right"} (lowest rank first, leftmost on ties) until no
 * rule applies; each final symbol is looked up as a token. A symbol that is no token falls back to its
 * single ASCII characters that are tokens (others are dropped), as llama.cpp does.
 */
final class BytePairTokenizer extends VocabularyTokenizer {
    private final PreTokenizer preTokenizer;
    /** Rank of each merge rule, keyed by the rule's text "left right" exactly as stored. */
    private final Map<String, Integer> mergeRank;
    /** Llama 3 takes a word that is a whole token as is, without merging. */
    private final boolean ignoreMerges;

    BytePairTokenizer(Vocabulary v, PreTokenizer preTokenizer) {
        super(v, defaults(preTokenizer));
        this.preTokenizer = preTokenizer;
        this.ignoreMerges = preTokenizer == PreTokenizer.LLAMA3;
        String[] merges = v.merges();
        if (merges == null) throw new IllegalArgumentException(Vocabulary.KEY_MERGES + " is missing: a gpt2 vocabulary needs its merges");
        mergeRank = new HashMap<>((int) (merges.length / 0.7f) + 1, 0.75f);
        for (int rank = 0; rank < merges.length; rank++) {
            // llama.cpp keeps the first rank of a rule that appears twice
            mergeRank.putIfAbsent(normalizeRule(merges[rank]), rank);
        }
        buildPieceCache();
    }

    /** llama.cpp splits a rule at its first space after position 0; a rule without one pairs two empty texts. */
    private static String normalizeRule(String rule) {
        int space = rule.indexOf(' ', 1);
        return space < 0 ? " " : rule;
    }

    private static Defaults defaults(PreTokenizer pre) {
        // BOS = EOS = 11 and no unknown token: llama.cpp's defaults for gpt2 vocabularies (Falcon's ids).
        return new Defaults(11, 11, -1, pre == PreTokenizer.LLAMA3, false, false, true);
    }

    @Override
    protected byte[] renderPiece(int id) {
        int attr = attributes[id];
        if ((attr & (ATTR_UNKNOWN | ATTR_CONTROL | ATTR_USER_DEFINED)) != 0) {
            return texts[id].getBytes(StandardCharsets.UTF_8);
        }
        if ((attr & ATTR_NORMAL) != 0) return ByteLevel.decode(texts[id]);
        return new byte[0];   // byte, unused and undefined tokens print nothing in byte-level vocabularies
    }

    /** Symbol {@code i} of a word is {@code word[start[i], start[i] + length[i])}; merged-away symbols have length 0. */
    private record Bigram(int left, int right, int rank, String text) {}

    private static final Comparator<Bigram> LOWEST_RANK_FIRST = (a, b) -> {
        int byRank = Integer.compare(a.rank, b.rank);
        return byRank != 0 ? byRank : Integer.compare(a.left, b.left);
    };

    @Override
    protected void encodeFragment(String fragment, boolean afterSpecial, TokenList out) {
        for (String word : preTokenizer.split(fragment)) {
            if (ignoreMerges) {
                Integer whole = idOfText.get(word);
                if (whole != null) {
                    out.add(whole);
                    continue;
                }
            }
            encodeWord(word, out);
        }
    }

    private void encodeWord(String word, TokenList out) {
        // Every byte-level character is a single UTF-16 unit (all are below U+0144).
        int n = word.length();
        int[] start = new int[n];
        int[] length = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            start[i] = i;
            length[i] = 1;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>(Math.max(1, n), LOWEST_RANK_FIRST);
        for (int i = 1; i < n; i++) offerBigram(word, start, length, i - 1, i, queue);
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            int l = b.left;
            int r = b.right;
            if (length[l] == 0 || length[r] == 0) continue;
            if (length[l] + length[r] != b.text.length()
                    || !word.regionMatches(start[l], b.text, 0, b.text.length())) continue;   // outdated
            length[l] += length[r];
            length[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) prev[next[r]] = l;
            offerBigram(word, start, length, prev[l], l, queue);
            offerBigram(word, start, length, l, next[l], queue);
        }
        for (int i = 0; i != -1 && n > 0; i = next[i]) {
            String symbol = word.substring(start[i], start[i] + length[i]);
            Integer id = idOfText.get(symbol);
            if (id != null) {
                out.add(id);
                continue;
            }
            // llama.cpp looks up each UTF-8 byte of the spelling on its own; only ASCII ones can be tokens.
            for (int k = 0; k < symbol.length(); k++) {
                char ch = symbol.charAt(k);
                if (ch < 0x80) {
                    Integer single = idOfText.get(String.valueOf(ch));
                    if (single != null) out.add(single);
                }
            }
        }
    }

    private void offerBigram(String word, int[] start, int[] length, int left, int right, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) return;
        String leftText = word.substring(start[left], start[left] + length[left]);
        String rightText = word.substring(start[right], start[right] + length[right]);
        Integer rank = mergeRank.get(leftText + " " + rightText);
        if (rank == null) return;
        queue.add(new Bigram(left, right, rank, leftText + rightText));
    }
}
