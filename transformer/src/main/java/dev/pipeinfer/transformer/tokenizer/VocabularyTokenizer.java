package dev.pipeinfer.transformer.tokenizer;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * What SentencePiece and byte-level BPE share in llama.cpp: the token table and attributes, the special
 * token ids and flags, the split of the input around special-token texts, BOS/EOS, and detokenization.
 * Subclasses tokenize the plain-text fragments and say how a normal token's text becomes bytes.
 */
abstract sealed class VocabularyTokenizer implements Tokenizer permits SentencePieceTokenizer, BytePairTokenizer {
    static final int ATTR_UNKNOWN = TokenType.UNKNOWN.bit;
    static final int ATTR_UNUSED = TokenType.UNUSED.bit;
    static final int ATTR_NORMAL = TokenType.NORMAL.bit;
    static final int ATTR_CONTROL = TokenType.CONTROL.bit;
    static final int ATTR_USER_DEFINED = TokenType.USER_DEFINED.bit;
    static final int ATTR_BYTE = TokenType.BYTE.bit;

    /**
     * Texts llama.cpp recognises as end-of-turn, end-of-message and fill-in-the-middle tokens when the file
     * does not name them; such a token is made a control token even if stored as normal (one per group,
     * the lowest id here, where llama.cpp takes whichever its hash map yields first).
     */
    private static final List<Set<String>> CONTROL_LOOKING_GROUPS = List.of(
            Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "<｜end▁of▁sentence｜>"),
            Set.of("<|eom_id|>"),
            Set.of("<|fim_prefix|>", "<fim-prefix>", "<｜fim▁begin｜>", "<PRE>"),
            Set.of("<|fim_suffix|>", "<fim-suffix>", "<｜fim▁hole｜>", "<SUF>"),
            Set.of("<|fim_middle|>", "<fim-middle>", "<｜fim▁end｜>", "<MID>"),
            Set.of("<|fim_pad|>", "<fim-pad>", "<PAD>"),
            Set.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>"),
            Set.of("<|file_sep|>"));
    /** Texts whose tokens end generation besides EOS (llama.cpp's end-of-generation list). */
    private static final Set<String> END_OF_GENERATION_TEXTS = Set.of(
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>");

    protected final String[] texts;
    protected final Map<String, Integer> idOfText;
    protected final int[] attributes;
    protected final int bos;
    protected final int eos;
    protected final int unknown;
    protected final boolean addBos;
    protected final boolean addEos;
    protected final boolean addSpacePrefix;
    protected final boolean cleanSpaces;
    /** Control, user-defined and unknown tokens, longest text first: the order their texts are searched. */
    private final int[] specialTokens;
    private final Set<Integer> endOfGeneration = new HashSet<>();
    /** Each token's piece with special tokens rendered, as llama.cpp's cache. */
    private byte[][] pieces;

    /** The defaults are llama.cpp's for this model family; the vocabulary's settings override them. */
    VocabularyTokenizer(Vocabulary v, Defaults defaults) {
        int n = v.size();
        if (n == 0) throw new IllegalArgumentException(Vocabulary.KEY_TOKENS + " is empty");
        texts = new String[n];
        idOfText = new HashMap<>(n * 2);
        attributes = new int[n];
        for (int id = 0; id < n; id++) {
            String text = v.tokens()[id];
            if (text == null || text.isEmpty()) text = "[EMPTY_" + id + "]";   // as llama.cpp, so lookups stay unique
            texts[id] = text;
            idOfText.put(text, id);
            attributes[id] = v.tokenTypes() == null ? ATTR_NORMAL : v.type(id).bit;
        }
        bos = validId(v.bos().orElse(defaults.bos()), defaults.bos(), n);
        eos = validId(v.eos().orElse(defaults.eos()), defaults.eos(), n);
        unknown = validId(v.unknown().orElse(defaults.unknown()), defaults.unknown(), n);
        addBos = v.addBos().orElse(defaults.addBos());
        addEos = v.addEos().orElse(defaults.addEos());
        addSpacePrefix = v.addSpacePrefix().orElse(defaults.addSpacePrefix());
        cleanSpaces = defaults.cleanSpaces();

        markControlLookingTokens();
        if (eos >= 0) endOfGeneration.add(eos);
        for (int id = 0; id < n; id++) if (END_OF_GENERATION_TEXTS.contains(texts[id])) endOfGeneration.add(id);

        specialTokens = IntStream.range(0, n)
                .filter(id -> (attributes[id] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) != 0)
                .boxed()
                .sorted((a, b) -> Integer.compare(texts[b].length(), texts[a].length()))
                .mapToInt(Integer::intValue)
                .toArray();
    }

    /** llama.cpp's per-family defaults, before the vocabulary's own keys are applied. */
    record Defaults(int bos, int eos, int unknown, boolean addBos, boolean addEos, boolean addSpacePrefix, boolean cleanSpaces) {}

    /** A stored id that is out of range is ignored with the default kept, as llama.cpp does. */
    private static int validId(int id, int fallback, int n) {
        if (id >= 0 && id < n) return id;
        return fallback < n ? fallback : -1;
    }

    private void markControlLookingTokens() {
        for (Set<String> group : CONTROL_LOOKING_GROUPS) {
            for (int id = 0; id < texts.length; id++) {
                if (group.contains(texts[id])) {
                    attributes[id] |= ATTR_CONTROL;
                    break;
                }
            }
        }
    }

    /** Fills the piece cache; subclasses call it once their own state is ready. */
    protected final void buildPieceCache() {
        pieces = new byte[texts.length][];
        for (int id = 0; id < texts.length; id++) pieces[id] = renderPiece(id);
    }

    /** The piece of token {@code id} with special tokens rendered as text (llama.cpp's cached form). */
    protected abstract byte[] renderPiece(int id);

    /** Appends the tokens of one plain-text fragment; {@code afterSpecial} is true at the start or after a special token. */
    protected abstract void encodeFragment(String fragment, boolean afterSpecial, TokenList out);

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        TokenList out = new TokenList();
        if (addSpecial && addBos) out.add(requirePresent(bos, "BOS"));
        boolean afterSpecial = true;
        for (Fragment f : splitAtSpecialTokens(text, parseSpecial)) {
            if (f.token >= 0) {
                out.add(f.token);
                afterSpecial = true;
            } else {
                encodeFragment(text.substring(f.start, f.end), afterSpecial, out);
                afterSpecial = false;
            }
        }
        if (addSpecial && addEos) out.add(requirePresent(eos, "EOS"));
        return out.toArray();
    }

    private static int requirePresent(int id, String what) {
        if (id < 0) throw new IllegalStateException("the vocabulary asks for " + what + " but has no " + what + " token");
        return id;
    }

    /** A special token ({@code token >= 0}) or the plain text {@code [start, end)} of the input. */
    private record Fragment(int token, int start, int end) {}

    /**
     * llama.cpp's {@code tokenizer_st_partition}: for each special token, longest text first, every
     * occurrence inside a still-plain fragment becomes that token. Control and unknown tokens take part only
     * with {@code parseSpecial}; user-defined tokens always do.
     */
    private List<Fragment> splitAtSpecialTokens(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) return fragments;
        fragments.add(new Fragment(-1, 0, text.length()));
        for (int id : specialTokens) {
            if (!parseSpecial && (attributes[id] & (ATTR_CONTROL | ATTR_UNKNOWN)) != 0) continue;
            String special = texts[id];
            if (!text.contains(special)) continue;
            List<Fragment> next = new ArrayList<>(fragments.size() + 4);
            for (Fragment f : fragments) {
                if (f.token >= 0) {
                    next.add(f);
                    continue;
                }
                int from = f.start;
                while (true) {
                    int match = text.indexOf(special, from);
                    if (match < 0 || match + special.length() > f.end) break;
                    if (match > from) next.add(new Fragment(-1, from, match));
                    next.add(new Fragment(id, match, match + special.length()));
                    from = match + special.length();
                }
                if (from < f.end) next.add(new Fragment(-1, from, f.end));
            }
            fragments = next;
        }
        return fragments;
    }

    @Override
    public byte[] piece(int id, boolean renderSpecial) {
        checkId(id);
        if (!renderSpecial && (attributes[id] & (ATTR_UNKNOWN | ATTR_CONTROL)) != 0) return new byte[0];
        return pieces[id].clone();
    }

    /** As {@link #piece}, without copying; callers must not modify the array. */
    byte[] pieceView(int id, boolean renderSpecial) {
        checkId(id);
        if (!renderSpecial && (attributes[id] & (ATTR_UNKNOWN | ATTR_CONTROL)) != 0) return EMPTY;
        return pieces[id];
    }

    private static final byte[] EMPTY = new byte[0];

    @Override
    public byte[] detokenize(int[] ids, boolean removeSpecial, boolean unparseSpecial) {
        int from = 0;
        int to = ids.length;
        // llama.cpp strips the leading space of the first piece only when the sequence does not start with BOS.
        boolean removeSpace = addSpacePrefix;
        if (removeSpecial && addBos && to > from && ids[from] == bos) {
            removeSpace = false;
            from++;
        }
        if (removeSpecial && addEos && to > from && ids[to - 1] == eos) to--;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = from; i < to; i++) {
            byte[] p = pieceView(ids[i], unparseSpecial);
            int skip = removeSpace && p.length > 0 && p[0] == ' ' ? 1 : 0;
            bytes.write(p, skip, p.length - skip);
            removeSpace = false;
        }
        byte[] text = bytes.toByteArray();
        return cleanSpaces ? SpaceCleanup.apply(text) : text;
    }

    private void checkId(int id) {
        if (id < 0 || id >= texts.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + texts.length + ")");
        }
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    @Override
    public boolean addsBos() {
        return addBos;
    }

    @Override
    public boolean addsEos() {
        return addEos;
    }

    @Override
    public boolean isEndOfGeneration(int id) {
        return endOfGeneration.contains(id);
    }

    @Override
    public int vocabSize() {
        return texts.length;
    }

    @Override
    public boolean isControl(int id) {
        checkId(id);
        return (attributes[id] & ATTR_CONTROL) != 0;
    }

    @Override
    public String tokenText(int id) {
        checkId(id);
        return texts[id];
    }

    /** The special tokens in search order, for tests and diagnostics. */
    int[] specialTokensInSearchOrder() {
        return Arrays.copyOf(specialTokens, specialTokens.length);
    }
}
