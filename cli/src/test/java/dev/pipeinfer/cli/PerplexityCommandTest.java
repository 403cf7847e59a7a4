package dev.pipeinfer.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.transformer.Batch;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOptions;
import dev.pipeinfer.transformer.SliceOutput;
import dev.pipeinfer.transformer.kv.KvType;
import dev.pipeinfer.transformer.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pipeinfer perplexity} scores a text as llama-perplexity does (chunks of n_ctx from an empty cache, BOS
 * first, the second half scored). The expected numbers are worked out here from plain forward passes.
 */
class PerplexityCommandTest {
    /** A TinyStories-like text (written for this test): about 370 tokens of stories260K's vocabulary. */
    static final String STORY = """
            Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friend Tom. \
            One day, Lily saw a big red ball under a tree. She wanted to play with it, so she ran to get it. Tom said, \
            "Lily, can I play with the ball too?" Lily smiled and said, "Yes, Tom! Let's play together." They kicked the ball \
            and laughed all day.
            Then the sun went down and it was time to go home. Lily's mom called her. "Lily, come home! It is time to eat." \
            Lily said goodbye to Tom and ran home with the ball. She was very happy.
            The next day, Lily and Tom went to the park again. They saw a little dog. The dog was sad because it was lost. \
            Lily gave the dog some water and Tom gave it a hug. Then a man came and said, "Thank you for finding my dog!" \
            The dog was happy and wagged its tail. Lily and Tom were happy too, because they helped the dog find its home.
            """;
    static final int CTX = 64;
    private static final Pattern FINAL = Pattern.compile("Final estimate: PPL = ([0-9.]+) \\+/- ([0-9.]+)");

    private final Path stories = TestData.model("stories260K.gguf");

    @Test
    void perplexityEqualsTheSecondHalfOfEveryChunkScoredByHand(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("story.txt");
        Files.writeString(text, STORY, StandardCharsets.UTF_8);
        CommandRun run = CommandRun.of("perplexity", "--model", stories.toString(), "--file", text.toString(), "--ctx", "" + CTX);
        assertEquals(0, run.status(), run.err());

        // By hand: every chunk of 64 tokens from an empty cache, BOS first, one batch with every position's logits;
        // the logits at 32..62 predict the tokens at 33..63.
        double nll = 0, nll2 = 0;
        int count = 0, chunks;
        try (GgufFile file = GgufFile.open(stories); ComputePool pool = new ComputePool(1)) {
            Tokenizer tokenizer = Tokenizer.from(file.metadata());
            int[] tokens = tokenizer.encode(STORY, true, false);
            assertEquals(1, tokens[0], "the text starts with BOS");
            chunks = tokens.length / CTX;
            assertTrue(chunks >= 4, "the story is " + tokens.length + " tokens");
            for (int c = 0; c < chunks; c++) {
                int[] window = Arrays.copyOfRange(tokens, c * CTX, (c + 1) * CTX);
                window[0] = tokenizer.bos();
                LayerSlice fresh = LayerSlice.loadAll(file, SliceOptions.generation(CTX).withKvType(KvType.F32), pool);
                SliceOutput logits = fresh.forward(Batch.sequence(window, 0, 0, true));
                for (int pos = CTX / 2; pos < CTX - 1; pos++) {
                    double v = -logProbability(logits.row(pos), window[pos + 1]);
                    nll += v;
                    nll2 += v * v;
                    count++;
                }
            }
        }
        double mean = nll / count;
        double ppl = Math.exp(mean);
        double error = Math.sqrt((nll2 / count - mean * mean) / (count - 1)) * ppl;

        Matcher m = FINAL.matcher(run.out());
        assertTrue(m.find(), run.out());
        assertEquals(ppl, Double.parseDouble(m.group(1)), 1e-4, "PPL, printed to 4 decimals");
        assertEquals(error, Double.parseDouble(m.group(2)), 1e-5, "its standard error, printed to 5 decimals");
        assertTrue(ppl > 1 && ppl < 50, "a trained TinyStories model finds a TinyStories text likely: PPL " + ppl);

        String running = run.out().lines().findFirst().orElseThrow();
        assertTrue(running.matches("(\\[\\d+\\][0-9.]+,){" + chunks + "}"), "one running estimate per chunk: " + running);
        assertTrue(running.endsWith("[" + chunks + "]" + m.group(1) + ","), "the last running estimate is the final one: " + running);
        System.out.printf("[PerplexityCommandTest] stories260K, %d chunks of %d: PPL %.4f +/- %.5f%n", chunks, CTX, ppl, error);
    }

    @Test
    void smallerPassesGiveTheSameNumbers(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("story.txt");
        Files.writeString(text, STORY, StandardCharsets.UTF_8);
        CommandRun whole = CommandRun.of("perplexity", "--model", stories.toString(), "--file", text.toString(), "--ctx", "" + CTX);
        CommandRun passes = CommandRun.of("perplexity", "--model", stories.toString(), "--file", text.toString(), "--ctx", "" + CTX,
                "--batch", "20", "--threads", "2");
        assertEquals(0, passes.status(), passes.err());
        assertEquals(whole.out(), passes.out(), "passes of 20 tokens (the last one short) score the same");
    }

    @Test
    void aTextShorterThanTwoChunksIsRefused(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("short.txt");
        Files.writeString(text, "Once upon a time, there was a little girl named Lily.", StandardCharsets.UTF_8);
        CommandRun run = CommandRun.of("perplexity", "--model", stories.toString(), "--file", text.toString(), "--ctx", "" + CTX);
        assertEquals(2, run.status());
        assertTrue(run.err().strip().matches("pipeinfer perplexity: .*short.txt has \\d+ tokens; perplexity with --ctx 64 needs at least 128 \\(two chunks\\)"),
                run.err());
        assertEquals("", run.out());
    }

    /** log p(token) under softmax(row), all in double. */
    private static double logProbability(float[] row, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) max = Math.max(max, v);
        double sum = 0;
        for (float v : row) sum += Math.exp(v - max);
        return row[token] - max - Math.log(sum);
    }
}
