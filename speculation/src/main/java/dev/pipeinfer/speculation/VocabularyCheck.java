package dev.pipeinfer.speculation;

import dev.pipeinfer.gguf.GgufMetadata;
import dev.pipeinfer.transformer.tokenizer.Vocabulary;
import java.util.Objects;

/**
 * Speculation compares token ids of two models, so both must number the same texts the same way: the
 * same tokenizer model and the same token list. Anything else is refused with both files named.
 */
public final class VocabularyCheck {
    private VocabularyCheck() {
    }

    /** Throws {@link IllegalArgumentException} naming both files when the vocabularies differ. */
    public static void requireSame(GgufMetadata target, String targetName, GgufMetadata draft, String draftName) {
        Vocabulary t = Vocabulary.from(target);
        Vocabulary d = Vocabulary.from(draft);
        String problem = null;
        if (!Objects.equals(t.model(), d.model())) {
            problem = "tokenizer models differ ('" + t.model() + "' vs '" + d.model() + "')";
        } else if (t.size() != d.size()) {
            problem = "vocabulary sizes differ (" + t.size() + " vs " + d.size() + " tokens)";
        } else {
            for (int i = 0; i < t.size(); i++) {
                if (!t.tokens()[i].equals(d.tokens()[i])) {
                    problem = "token " + i + " differs ('" + t.tokens()[i] + "' vs '" + d.tokens()[i] + "')";
                    break;
                }
            }
        }
        if (problem != null) {
            throw new IllegalArgumentException("the draft model " + draftName + " cannot speculate for the target "
                    + targetName + ": their vocabularies must be the same, but " + problem);
        }
    }
}
