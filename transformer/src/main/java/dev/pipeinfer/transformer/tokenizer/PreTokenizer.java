package dev.pipeinfer.transformer.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The pre-tokenizers of byte-level BPE vocabularies: how llama.cpp splits text into words before merging,
 * each word then spelled in GPT-2's byte-level characters. A pre-tokenizer is a sequence of regex splits,
 * each refining the pieces of the previous one; a match and the text between matches both become pieces.
 *
 * <p>llama.cpp runs the GPT-2 and Llama-3 regexes as hand-written scanners and the others with
 * {@code std::regex} on a "collapsed" text where every non-ASCII character is replaced by a byte naming its
 * category. Both are reproduced here exactly as scanners, including where they differ from a real regex
 * engine (e.g. a lone space before a letter run belongs to that run; in the collapsed form the ASCII
 * characters count as punctuation only if they are in llama.cpp's fixed ASCII list).
 */
enum PreTokenizer {
    /** {@code tokenizer.ggml.pre} absent or "default": punctuation runs, then GPT-2, then digit runs, then ASCII digit triples. */
    DEFAULT,
    /** "gpt-2": {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)}. */
    GPT2,
    /** "falcon": punctuation-and-symbol runs, then GPT-2, then ASCII digit triples. */
    FALCON,
    /**
     * "llama-bpe" (Llama 3): {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
     * ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+}; words that are whole tokens skip merging.
     */
    LLAMA3;

    /** The pre-tokenizer llama.cpp uses for a {@code tokenizer.ggml.pre} value; others are refused by name. */
    static PreTokenizer forName(String pre) {
        return switch (pre) {
            case "", "default" -> DEFAULT;
            case "gpt-2", "phi-2" -> GPT2;
            case "falcon" -> FALCON;
            case "llama3", "llama-v3", "llama-bpe", "falcon3" -> LLAMA3;
            default -> throw new UnsupportedTokenizerException("tokenizer.ggml.pre '" + pre
                    + "' is not supported (supported: default, gpt-2, phi-2, falcon, llama3/llama-v3/llama-bpe/falcon3)");
        };
    }

    /** The words of {@code text}, each spelled in byte-level characters, in order. */
    List<String> split(String text) {
        int[] cps = text.codePoints().toArray();
        TokenList pieces = new TokenList();
        pieces.add(cps.length);
        pieces = switch (this) {
            case GPT2 -> scanGpt2(cps, pieces);
            case LLAMA3 -> scanLlama3(cps, pieces);
            case FALCON -> asciiDigitTriples(cps, scanGpt2(cps, runs(cps, pieces, Runs.FALCON_PUNCTUATION)));
            case DEFAULT -> asciiDigitTriples(cps, runs(cps, scanGpt2(cps, runs(cps, pieces, Runs.DEFAULT_PUNCTUATION)), Runs.NUMBER));
        };
        List<String> words = new ArrayList<>(pieces.size());
        for (int i = 0, start = 0; i < pieces.size(); i++) {
            int end = start + pieces.get(i);
            words.add(ByteLevel.encode(cps, start, end));
            start = end;
        }
        return words;
    }

    /** Piece boundaries of one scan over one input piece. */
    private static final class Cutter {
        final int[] cps;
        final int end;
        final TokenList out;
        int prevEnd;

        Cutter(int[] cps, int start, int end, TokenList out) {
            this.cps = cps;
            this.end = end;
            this.out = out;
            this.prevEnd = start;
        }

        boolean in(int p) {
            return p < end;
        }

        boolean letter(int p) {
            return in(p) && CodepointClass.isLetter(cps[p]);
        }

        boolean number(int p) {
            return in(p) && CodepointClass.isNumber(cps[p]);
        }

        boolean space(int p) {
            return in(p) && CodepointClass.isWhitespace(cps[p]);
        }

        /** In range and neither whitespace, letter nor number ({@code [^\s\p{L}\p{N}]}). */
        boolean other(int p) {
            return in(p) && !CodepointClass.isWhitespace(cps[p]) && !CodepointClass.isLetter(cps[p]) && !CodepointClass.isNumber(cps[p]);
        }

        /** Ends the current piece at {@code p} and returns {@code p}. */
        int cut(int p) {
            if (p > prevEnd) out.add(p - prevEnd);
            prevEnd = p;
            return p;
        }

        /** Length of the contraction {@code 's 't 'm 'd 're 've 'll} at {@code pos}, 0 if none. */
        int contraction(int pos, boolean ignoreCase) {
            if (cps[pos] != '\'' || pos + 1 >= end) return 0;
            int c1 = ignoreCase ? Character.toLowerCase(cps[pos + 1]) : cps[pos + 1];
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
            if (pos + 2 >= end) return 0;
            int c2 = ignoreCase ? Character.toLowerCase(cps[pos + 2]) : cps[pos + 2];
            return (c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l') ? 3 : 0;
        }

        /** The {@code \s+(?!\S)} and {@code \s+} alternatives at a whitespace run, or one unmatched character. */
        int whitespaceOrSingle(int pos) {
            int n = 0;
            while (space(pos + n)) n++;
            if (n > 1 && in(pos + n)) return cut(pos + n - 1);   // leave the last space to the next word
            if (n > 0) return cut(pos + n);
            return cut(pos + 1);
        }
    }

    private static TokenList scanGpt2(int[] cps, TokenList pieces) {
        TokenList out = new TokenList();
        for (int i = 0, start = 0; i < pieces.size(); start += pieces.get(i), i++) {
            int end = start + pieces.get(i);
            Cutter c = new Cutter(cps, start, end, out);
            int pos = start;
            while (pos < end) {
                int contraction = c.contraction(pos, false);
                if (contraction > 0) {
                    pos = c.cut(pos + contraction);
                    continue;
                }
                int first = cps[pos] == ' ' ? pos + 1 : pos;   // the optional leading space
                if (c.letter(first)) {
                    pos = first;
                    while (c.letter(pos)) pos++;
                    c.cut(pos);
                } else if (c.number(first)) {
                    pos = first;
                    while (c.number(pos)) pos++;
                    c.cut(pos);
                } else if (c.other(first)) {
                    pos = first;
                    while (c.other(pos)) pos++;
                    c.cut(pos);
                } else {
                    pos = c.whitespaceOrSingle(pos);
                }
            }
        }
        return out;
    }

    private static TokenList scanLlama3(int[] cps, TokenList pieces) {
        TokenList out = new TokenList();
        for (int i = 0, start = 0; i < pieces.size(); start += pieces.get(i), i++) {
            int end = start + pieces.get(i);
            Cutter c = new Cutter(cps, start, end, out);
            int pos = start;
            while (pos < end) {
                int cp = cps[pos];
                int contraction = c.contraction(pos, true);
                if (contraction > 0) {
                    pos = c.cut(pos + contraction);
                    continue;
                }
                // [^\r\n\p{L}\p{N}]?\p{L}+
                if (cp != '\r' && cp != '\n' && !CodepointClass.isNumber(cp) && (CodepointClass.isLetter(cp) || c.letter(pos + 1))) {
                    pos++;
                    while (c.letter(pos)) pos++;
                    c.cut(pos);
                    continue;
                }
                // \p{N}{1,3}
                if (CodepointClass.isNumber(cp)) {
                    int groupStart = pos;
                    while (c.number(pos)) {
                        if (++pos - groupStart >= 3) groupStart = c.cut(pos);
                    }
                    c.cut(pos);
                    continue;
                }
                // ' ?[^\s\p{L}\p{N}]+[\r\n]*' (a lone space at the very end also lands here, as in llama.cpp)
                int first = cp == ' ' ? pos + 1 : pos;
                if (!c.in(first) || c.other(first)) {
                    pos = first;
                    while (c.other(pos)) pos++;
                    while (c.in(pos) && (cps[pos] == '\r' || cps[pos] == '\n')) pos++;
                    c.cut(pos);
                    continue;
                }
                // \s*[\r\n]+ : whitespace up to and including the last line break of the run
                int n = 0;
                int afterLastBreak = -1;
                while (c.space(pos + n)) {
                    if (cps[pos + n] == '\r' || cps[pos + n] == '\n') afterLastBreak = pos + n + 1;
                    n++;
                }
                pos = afterLastBreak >= 0 ? c.cut(afterLastBreak) : c.whitespaceOrSingle(pos);
            }
        }
        return out;
    }

    /** Character classes of the {@code [...]+} regexes that llama.cpp matches on collapsed text. */
    private enum Runs {
        /** {@code [\p{P}\$\+<=>\^~\|`]+} */
        FALCON_PUNCTUATION,
        /** {@code [\p{P}\$\+<=>\^~\|]+} */
        DEFAULT_PUNCTUATION,
        /** {@code \p{N}+} */
        NUMBER;

        boolean matches(int cp) {
            if (cp < 0x80) {
                return switch (this) {
                    // llama.cpp's ASCII punctuation list plus the listed symbols covers all of these ranges
                    case FALCON_PUNCTUATION -> (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40)
                            || (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
                    case DEFAULT_PUNCTUATION -> (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40)
                            || (cp >= 0x5B && cp <= 0x5F) || (cp >= 0x7B && cp <= 0x7E);
                    case NUMBER -> cp >= '0' && cp <= '9';
                };
            }
            // A non-ASCII character collapses to its whitespace marker or its category byte.
            if (CodepointClass.isWhitespace(cp)) return false;
            return this == NUMBER ? CodepointClass.isNumber(cp) : CodepointClass.isPunctuation(cp);
        }
    }

    /** Splits every piece into maximal runs of {@code runs} characters and the text between them. */
    private static TokenList runs(int[] cps, TokenList pieces, Runs runs) {
        TokenList out = new TokenList();
        for (int i = 0, start = 0; i < pieces.size(); start += pieces.get(i), i++) {
            int end = start + pieces.get(i);
            Cutter c = new Cutter(cps, start, end, out);
            int pos = start;
            while (pos < end) {
                if (runs.matches(cps[pos])) {
                    c.cut(pos);
                    while (pos < end && runs.matches(cps[pos])) pos++;
                    c.cut(pos);
                } else {
                    pos++;
                }
            }
            c.cut(end);
        }
        return out;
    }

    /** {@code [0-9][0-9][0-9]}: leftmost non-overlapping triples of ASCII digits split out of every piece. */
    private static TokenList asciiDigitTriples(int[] cps, TokenList pieces) {
        TokenList out = new TokenList();
        for (int i = 0, start = 0; i < pieces.size(); start += pieces.get(i), i++) {
            int end = start + pieces.get(i);
            Cutter c = new Cutter(cps, start, end, out);
            int pos = start;
            while (pos + 3 <= end) {
                if (isAsciiDigit(cps[pos]) && isAsciiDigit(cps[pos + 1]) && isAsciiDigit(cps[pos + 2])) {
                    c.cut(pos);
                    pos = c.cut(pos + 3);
                } else {
                    pos++;
                }
            }
            c.cut(end);
        }
        return out;
    }

    private static boolean isAsciiDigit(int cp) {
        return cp >= '0' && cp <= '9';
    }
}
