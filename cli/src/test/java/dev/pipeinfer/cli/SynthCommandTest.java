package dev.pipeinfer.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pipeinfer.gguf.testdata.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The synth command refuses what it cannot make before writing anything (generation itself is tested in transformer). */
class SynthCommandTest {
    private final String vocab = TestData.require("tokenizer/ggml-vocab-llama-spm.gguf").toString();

    @Test
    void aShapeOfAnotherArchitectureIsRefused(@TempDir Path dir) {
        Path out = dir.resolve("m.gguf");
        CommandRun run = CommandRun.of("synth", "--arch", "llama", "--shape", "falcon-7b", "--type", "Q4_0",
                "--vocab-from", vocab, "-o", out.toString());
        assertEquals(2, run.status());
        assertTrue(run.err().contains("shape falcon-7b is a falcon model, not llama"), run.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void anUnknownShapeListsTheKnownOnes(@TempDir Path dir) {
        CommandRun run = CommandRun.of("synth", "--arch", "llama", "--shape", "llama-65b", "--type", "Q4_0",
                "--vocab-from", vocab, "-o", dir.resolve("m.gguf").toString());
        assertEquals(2, run.status());
        assertTrue(run.err().contains("tinyllama-1.1b, llama-2-7b, falcon-7b"), run.err());
    }

    @Test
    void aTypeWithoutAQuantizerIsRefused(@TempDir Path dir) {
        CommandRun run = CommandRun.of("synth", "--arch", "llama", "--shape", "tinyllama-1.1b", "--type", "IQ2_XXS",
                "--vocab-from", vocab, "-o", dir.resolve("m.gguf").toString());
        assertEquals(2, run.status());
        assertTrue(run.err().contains("cannot write IQ2_XXS"), run.err());
    }
}
