package dev.pipeinfer.transformer.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns generated token ids, one at a time, into text that can be printed at once: only whole UTF-8
 * characters come out. A character whose bytes are spread over several tokens (byte tokens, or BPE tokens
 * that end inside a character) is held back until its last byte arrives. Bytes that can no longer become a
 * valid character come out as U+FFFD right away (one per maximal invalid subsequence, as Java's and
 * Python's decoders do); whatever is still incomplete at {@link #finish()} becomes U+FFFD too.
 *
 * <p>Pieces are {@link Tokenizer#piece(int, boolean)}, so SentencePiece words keep their leading space, as
 * llama.cpp's own printers show them.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final boolean renderSpecial;
    private byte[] pending = new byte[16];
    private int pendingLength;

    /** @param renderSpecial print control tokens (e.g. {@code </s>}) as their text instead of nothing */
    public StreamingDecoder(Tokenizer tokenizer, boolean renderSpecial) {
        this.tokenizer = tokenizer;
        this.renderSpecial = renderSpecial;
    }

    public StreamingDecoder(Tokenizer tokenizer) {
        this(tokenizer, false);
    }

    /** The text that token {@code id} completes; empty while a character is still incomplete. */
    public String accept(int id) {
        byte[] piece = tokenizer instanceof VocabularyTokenizer v ? v.pieceView(id, renderSpecial) : tokenizer.piece(id, renderSpecial);
        return acceptBytes(piece);
    }

    /** As {@link #accept(int)} for raw bytes. */
    public String acceptBytes(byte[] bytes) {
        if (pendingLength + bytes.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + bytes.length));
        }
        System.arraycopy(bytes, 0, pending, pendingLength, bytes.length);
        pendingLength += bytes.length;
        int complete = pendingLength - incompleteTail(pending, pendingLength);
        if (complete == 0) return "";
        String text = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, pendingLength - complete);
        pendingLength -= complete;
        return text;
    }

    /** The held-back bytes of an unfinished character, as U+FFFD; empty when nothing is held back. */
    public String finish() {
        String text = new String(pending, 0, pendingLength, StandardCharsets.UTF_8);
        pendingLength = 0;
        return text;
    }

    /** Whether bytes of an unfinished character are held back. */
    public boolean hasPending() {
        return pendingLength > 0;
    }

    /**
     * How many bytes at the end of {@code b[0, n)} are the valid beginning of a character still missing
     * bytes. 0 when the text ends on a character boundary or on bytes that cannot become valid anyway.
     */
    static int incompleteTail(byte[] b, int n) {
        for (int back = 1; back <= 3 && back <= n; back++) {
            int lead = b[n - back] & 0xFF;
            if (lead < 0x80) return 0;          // ASCII: everything before it is decided
            if (lead < 0xC0) continue;          // continuation byte: look further back for its lead
            int need = lead < 0xC2 ? -1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : -1;
            if (need <= back) return 0;         // invalid lead, or the character is already complete
            // The continuation bytes so far must fit this lead (UTF-8's limits on the second byte).
            for (int k = 1; k < back; k++) {
                int c = b[n - back + k] & 0xFF;
                int lo = 0x80;
                int hi = 0xBF;
                if (k == 1) {
                    if (lead == 0xE0) lo = 0xA0;
                    else if (lead == 0xED) hi = 0x9F;
                    else if (lead == 0xF0) lo = 0x90;
                    else if (lead == 0xF4) hi = 0x8F;
                }
                if (c < lo || c > hi) return 0;
            }
            return back;
        }
        return 0;
    }
}
