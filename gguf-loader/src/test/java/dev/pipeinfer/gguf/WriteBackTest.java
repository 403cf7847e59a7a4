package dev.pipeinfer.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.pipeinfer.gguf.testdata.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every GGUF file of the widest test data set, read and written back with {@link GgufWriter#copyOf},
 * gives the same metadata (types and values, in order) and the same tensor bytes. The files were written
 * by llama.cpp and gguf-py in the standard layout, so the copy must also be the same file byte for byte.
 */
class WriteBackTest {
    @TempDir
    Path dir;

    @TestFactory
    List<DynamicTest> everyTestFileIsReproducedExactly() {
        List<Path> files = Stream.concat(TestData.ggufFiles("models", "WriteBackTest").stream(),
                TestData.ggufFiles("tokenizer", "WriteBackTest").stream()).toList();
        List<DynamicTest> tests = new ArrayList<>();
        for (Path original : files) {
            tests.add(DynamicTest.dynamicTest(original.getFileName().toString(), () -> writeBack(original)));
        }
        assertFalse(tests.isEmpty());
        return tests;
    }

    private void writeBack(Path original) throws IOException {
        Path copy = dir.resolve(original.getFileName());
        try (GgufFile in = GgufFile.open(original)) {
            long written = GgufWriter.copyOf(in).write(copy);
            assertEquals(Files.size(copy), written);
            try (GgufFile out = GgufFile.open(copy)) {
                assertSameContent(in, out);
            }
        }
        long firstDifference = Files.mismatch(original, copy);
        assertEquals(-1, firstDifference, () -> original.getFileName() + " differs from its copy at byte " + firstDifference);
        Files.delete(copy);
    }

    static void assertSameContent(GgufFile expected, GgufFile actual) {
        assertEquals(expected.version(), actual.version(), "version");
        assertEquals(expected.alignment(), actual.alignment(), "alignment");
        Map<String, GgufValue> a = expected.metadata().asMap(), b = actual.metadata().asMap();
        assertEquals(List.copyOf(a.keySet()), List.copyOf(b.keySet()), "keys in file order");
        a.forEach((key, v) -> {
            assertEquals(v.type(), b.get(key).type(), key);
            assertEquals(v.value(), b.get(key).value(), key);
        });
        assertEquals(expected.tensors().size(), actual.tensors().size(), "tensor count");
        for (int i = 0; i < expected.tensors().size(); i++) {
            GgufTensor x = expected.tensors().get(i), y = actual.tensors().get(i);
            assertEquals(x.name(), y.name());
            assertEquals(x.type(), y.type(), x.name());
            assertArrayEquals(x.shape(), y.shape(), x.name());
            assertEquals(-1, x.data().mismatch(y.data()), x.name() + ": tensor bytes differ");
        }
    }
}
