package dev.pipeinfer.transformer.tokenizer;

import java.util.Arrays;

/**
 * llama.cpp's {@code clean_up_tokenization_spaces} for byte-level BPE vocabularies, applied to detokenized
 * bytes in three passes: drop the space before {@code ? ! . ,}; turn {@code " ' "} into {@code "'"}; drop the
 * space before the contractions {@code 's 'm 're 've} (but not {@code 't 'd 'll}).
 */
final class SpaceCleanup {
    private SpaceCleanup() {}

    static byte[] apply(byte[] in) {
        byte[] t = in.clone();
        int n = t.length;

        // Pass 1: " ?", " !", " .", " ,"
        int total = n > 0 ? 1 : 0;
        for (int i = 1; i < n; i++) {
            byte x = t[i];
            if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) total--;
            t[total++] = x;
        }
        n = total;

        // Pass 2: " ' " loses both spaces. The space after is blanked in place (to NUL), as llama.cpp does,
        // so the comparison of the following position sees that NUL rather than the space.
        total = n > 0 ? 1 : 0;
        for (int i = 1; i < n; i++) {
            byte x = t[i];
            if (x == '\'' && i + 1 < n && t[i - 1] == ' ' && t[i + 1] == ' ') {
                total--;
                t[++i] = 0;
            }
            t[total++] = x;
        }
        n = total;

        // Pass 3: " 's", " 'm", " 're", " 've" lose the space.
        total = n > 0 ? 1 : 0;
        for (int i = 1; i < n; i++) {
            byte x = t[i];
            if (t[i - 1] == ' ' && x == '\'' && i + 1 < n) {
                byte x1 = t[i + 1];
                if (x1 == 's' || x1 == 'm') {
                    total--;
                } else if (x1 != 't' && x1 != 'd' && i + 2 < n) {
                    byte x2 = t[i + 2];
                    if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) total--;
                }
            }
            t[total++] = x;
        }
        return Arrays.copyOf(t, total);
    }
}
