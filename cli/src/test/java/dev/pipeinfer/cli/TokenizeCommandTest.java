package dev.pipeinfer.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pipeinfer.gguf.testdata.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizeCommandTest {
    private final String stories = TestData.model("stories260K.gguf").toString();

    @Test
    void printsTheIdsLlamaCppGivesWithBos() {
        CommandRun run = CommandRun.of("tokenize", "--model", stories, "--prompt", "Once upon a time");
        assertEquals(0, run.status(), run.err());
        assertEquals("[1, 403, 407, 261, 378]", run.out().strip(), "refs/stories260K/p1.json prompt_tokens");
    }

    @Test
    void noBosDropsTheBosToken() {
        CommandRun run = CommandRun.of("tokenize", "--model", stories, "--prompt", "Once upon a time", "--no-bos");
        assertEquals("[403, 407, 261, 378]", run.out().strip());
    }

    @Test
    void aTruncatedModelIsOneLineAndStatusTwo(@TempDir Path dir) throws Exception {
        Path cut = dir.resolve("cut.gguf");
        Files.write(cut, java.util.Arrays.copyOf(Files.readAllBytes(Path.of(stories)), 3000));
        CommandRun run = CommandRun.of("tokenize", "--model", cut.toString(), "--prompt", "x");
        assertEquals(2, run.status());
        assertEquals(1, run.err().strip().lines().count(), run.err());
        assertTrue(run.err().startsWith("pipeinfer tokenize: " + cut), run.err());
    }

    @Test
    void aMissingModelIsNamed() {
        CommandRun run = CommandRun.of("tokenize", "--model", "/no/such/model.gguf", "--prompt", "x");
        assertEquals(2, run.status());
        assertEquals("pipeinfer tokenize: /no/such/model.gguf: no such file", run.err().strip());
    }
}
