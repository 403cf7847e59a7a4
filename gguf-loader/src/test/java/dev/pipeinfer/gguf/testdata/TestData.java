package dev.pipeinfer.gguf.testdata;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where the reference data lives.
 *
 * <p>The repository carries a <em>core set</em> under {@code testdata/} (a few models, their llama.cpp
 * references, the tokenizer vectors) so that a fresh clone's tests pass on their own. When the full set
 * at {@code ../shared/testdata} is present beside the repository, tests that iterate over "every model"
 * use it instead and say which set they ran on.
 */
public final class TestData {
    private static final Path REPO_ROOT = findRepoRoot();

    private TestData() {}

    /** The repository's own core set. */
    public static Path core() {
        return REPO_ROOT.resolve("testdata");
    }

    /** The full shared set, when it is beside the repository. */
    public static Optional<Path> shared() {
        Path shared = REPO_ROOT.resolveSibling("shared").resolve("testdata");
        return Files.isDirectory(shared.resolve("models")) ? Optional.of(shared) : Optional.empty();
    }

    /** The full set when present, else the core set; prints which one so test logs tell. */
    public static Path widest(String whoIsAsking) {
        Optional<Path> shared = shared();
        if (shared.isPresent()) {
            System.out.println("[testdata] " + whoIsAsking + ": full set at " + shared.get());
            return shared.get();
        }
        System.out.println("[testdata] " + whoIsAsking + ": ran on the core set only (../shared/testdata not found)");
        return core();
    }

    /** A file relative to a testdata root: the core copy when it has it, else the shared one. */
    public static Optional<Path> find(String relative) {
        Path inCore = core().resolve(relative);
        if (Files.exists(inCore)) return Optional.of(inCore);
        return shared().map(s -> s.resolve(relative)).filter(Files::exists);
    }

    /** A file the core set is required to have. */
    public static Path require(String relative) {
        Path p = core().resolve(relative);
        if (!Files.exists(p)) throw new IllegalStateException("core test data missing: " + p);
        return p;
    }

    public static Path model(String fileName) {
        return find("models/" + fileName).orElseThrow(
                () -> new IllegalStateException("model not in the core or shared test data: " + fileName));
    }

    /** Every {@code *.gguf} directly in {@code dir} of the widest set, sorted by name. */
    public static List<Path> ggufFiles(String dir, String whoIsAsking) {
        Path root = widest(whoIsAsking).resolve(dir);
        try (Stream<Path> files = Files.list(root)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".gguf")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path findRepoRoot() {
        Path dir = Path.of("").toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("testdata").resolve("models")) && Files.exists(p.resolve("mvnw"))) return p;
        }
        throw new IllegalStateException("cannot find the repository root (with testdata/models) above " + dir);
    }
}
