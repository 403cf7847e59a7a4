package dev.pipeinfer.transformer.tokenizer;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.testdata.TestData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Test data access for the tokenizer tests: vocabulary files (loaded once per run) and llama.cpp's vectors. */
final class VocabFiles {
    static final List<String> LLAMA_CPP_VOCABS = List.of(
            "ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-bpe.gguf", "ggml-vocab-falcon.gguf", "ggml-vocab-gpt-2.gguf");
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";
    private static final Map<Path, Tokenizer> LOADED = new ConcurrentHashMap<>();

    private VocabFiles() {}

    /**
     * A vocabulary file by the name the test data uses: the tokenizer folder's files, or a model file.
     * synth-falcon7b-F32.gguf is only in the full set; its Q8_0 sibling in the core set has the same vocabulary.
     */
    static Path path(String name) {
        if (name.startsWith("ggml-vocab-")) {
            return TestData.find("tokenizer/" + name).orElseThrow(() -> new IllegalStateException("missing tokenizer/" + name));
        }
        if (name.equals("synth-falcon7b-F32.gguf") && TestData.find("models/" + name).isEmpty()) {
            return TestData.model("synth-falcon7b-Q8_0.gguf");
        }
        return TestData.model(name);
    }

    static Tokenizer tokenizer(String name) {
        return tokenizer(path(name));
    }

    static Tokenizer tokenizer(Path gguf) {
        return LOADED.computeIfAbsent(gguf.toAbsolutePath().normalize(), VocabFiles::load);
    }

    static Tokenizer load(Path gguf) {
        try (GgufFile f = GgufFile.open(gguf)) {
            return Tokenizer.from(f.metadata());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** llama.cpp's test vector: the strings of {@code <vocab>.inp} and the ids on the lines of {@code <vocab>.out}. */
    record Vector(int index, String text, int[] expected) {}

    static List<Vector> vectors(String vocab) {
        try {
            String inp = Files.readString(path(vocab).resolveSibling(vocab + ".inp"), StandardCharsets.UTF_8);
            String out = Files.readString(path(vocab).resolveSibling(vocab + ".out"), StandardCharsets.UTF_8);
            List<String> texts = new ArrayList<>(Arrays.asList(inp.split(java.util.regex.Pattern.quote(SEPARATOR), -1)));
            if (!texts.getLast().isEmpty()) throw new IllegalStateException(vocab + ".inp does not end with the separator");
            texts.removeLast();
            List<String> lines = new ArrayList<>(Arrays.asList(out.split("\n", -1)));
            if (lines.getLast().isEmpty()) lines.removeLast();
            if (lines.size() != texts.size()) {
                throw new IllegalStateException(vocab + ": " + texts.size() + " strings but " + lines.size() + " lines of ids");
            }
            List<Vector> vectors = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) vectors.add(new Vector(i, texts.get(i), ids(lines.get(i))));
            return vectors;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] ids(String line) {
        String t = line.strip();
        return t.isEmpty() ? new int[0] : Arrays.stream(t.split(" +")).mapToInt(Integer::parseInt).toArray();
    }

    /** A string for test names: control characters and spaces made visible, cut to a readable length. */
    static String show(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(40).forEach(cp -> {
            if (cp == '\n') b.append("\\n");
            else if (cp == '\t') b.append("\\t");
            else if (cp == '\r') b.append("\\r");
            else if (cp < 0x20 || cp == 0x7F) b.append(String.format("\\x%02x", cp));
            else b.appendCodePoint(cp);
        });
        if (s.codePointCount(0, s.length()) > 40) b.append('…');
        return "\"" + b + "\"";
    }
}
