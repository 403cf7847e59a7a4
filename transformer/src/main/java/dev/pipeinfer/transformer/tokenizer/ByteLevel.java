package dev.pipeinfer.transformer.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * GPT-2's reversible byte-to-character mapping: byte-level BPE vocabularies spell every byte as one
 * printable character. The printable Latin-1 bytes {@code ! .. ~}, {@code ¡ .. ¬} and {@code ® .. ÿ} stand
 * for themselves; the other 68 bytes, in increasing order, take the characters U+0100, U+0101, ... (so a
 * space is {@code Ġ} U+0120 and a newline {@code Ċ} U+010A).
 */
final class ByteLevel {
    private static final char[] CHAR_OF_BYTE = new char[256];
    /** Indexed by character (all mapped characters are below U+0144); -1 for characters that are no byte. */
    private static final int[] BYTE_OF_CHAR = new int[0x200];

    static {
        java.util.Arrays.fill(BYTE_OF_CHAR, -1);
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) next++;
            CHAR_OF_BYTE[b] = c;
            BYTE_OF_CHAR[c] = b;
        }
    }

    private ByteLevel() {}

    /** The byte-level spelling of {@code text}'s UTF-8 bytes. */
    static String encode(int[] codePoints, int from, int to) {
        byte[] utf8 = new String(codePoints, from, to - from).getBytes(StandardCharsets.UTF_8);
        char[] chars = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) chars[i] = CHAR_OF_BYTE[utf8[i] & 0xFF];
        return new String(chars);
    }

    static char charOfByte(int b) {
        return CHAR_OF_BYTE[b];
    }

    /**
     * The bytes a byte-level token text stands for. A character outside the mapping (not produced by GPT-2
     * style vocabularies) is written as llama.cpp does: {@code [UNK_BYTE_0x<its UTF-8 in hex><whole text>]}.
     */
    static byte[] decode(String tokenText) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(tokenText.length());
        tokenText.codePoints().forEach(cp -> {
            int b = cp < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[cp] : -1;
            if (b >= 0) {
                out.write(b);
            } else {
                StringBuilder unk = new StringBuilder("[UNK_BYTE_0x");
                for (byte u : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) unk.append(String.format("%02x", u & 0xFF));
                unk.append(tokenText).append(']');
                out.writeBytes(unk.toString().getBytes(StandardCharsets.UTF_8));
            }
        });
        return out.toByteArray();
    }
}
