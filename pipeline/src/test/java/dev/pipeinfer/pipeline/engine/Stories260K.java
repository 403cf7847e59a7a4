package dev.pipeinfer.pipeline.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.testdata.TestData;
import dev.pipeinfer.pipeline.KvEdit;
import dev.pipeinfer.pipeline.LayerSliceCompute;
import dev.pipeinfer.pipeline.Message;
import dev.pipeinfer.pipeline.Pipeline;
import dev.pipeinfer.pipeline.Result;
import dev.pipeinfer.pipeline.ResultForm;
import dev.pipeinfer.pipeline.Run;
import dev.pipeinfer.pipeline.RunHeader;
import dev.pipeinfer.pipeline.RunKind;
import dev.pipeinfer.tensor.ComputePool;
import dev.pipeinfer.transformer.LayerSlice;
import dev.pipeinfer.transformer.SliceOptions;
import dev.pipeinfer.transformer.kv.KvType;
import dev.pipeinfer.transformer.model.ModelConfig;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The real engine behind the pipeline: stories260K split into stages, and llama.cpp's 128-token greedy
 * continuation of "Once upon a time" (refs/stories260K/p1.long.json) as the answer every split must give.
 */
public final class Stories260K implements AutoCloseable {
    public final GgufFile file;
    public final ComputePool pool = new ComputePool(1);
    public final ModelConfig config;
    public final int[] prompt;
    public final int[] expected;

    public Stories260K() throws IOException {
        file = GgufFile.open(TestData.model("stories260K.gguf"));
        config = ModelConfig.from(file);
        JsonNode ref = new ObjectMapper().readTree(TestData.find("refs/stories260K/p1.long.json").orElseThrow().toFile());
        prompt = ints(ref.get("prompt_tokens"));
        expected = ints(ref.get("greedy_tokens"));
    }

    /** Layer bounds of an even split into {@code stages} slices. */
    public int[] bounds(int stages) {
        int[] b = new int[stages + 1];
        for (int i = 0; i <= stages; i++) b[i] = i * config.layers() / stages;
        return b;
    }

    /** One engine stage per slice of the even split, F32 KV cache (reproduces llama.cpp's greedy tokens). */
    public List<LayerSliceCompute> stages(int count) {
        int[] b = bounds(count);
        List<LayerSliceCompute> stages = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            stages.add(new LayerSliceCompute(LayerSlice.load(file, b[i], b[i + 1],
                    SliceOptions.generation(512).withKvType(KvType.F32), pool)));
        }
        return stages;
    }

    /**
     * Greedy decoding through the pipeline, one step run at a time. With {@code speculate}, every step
     * is followed by a speculative run on sequence 1 (a wrong guess, built on the accepted prefix by a
     * KV commit 0 -> 1), which is cancelled on every other step as soon as it is submitted, and whose
     * cells are removed afterwards: none of it may change the accepted text.
     */
    public int[] greedy(Pipeline pipeline, int steps, boolean speculate) throws InterruptedException {
        return greedy(pipeline, steps, speculate, new ArrayList<>());
    }

    /** As above, collecting the answers to the speculative runs in {@code speculativeAnswers}. */
    public int[] greedy(Pipeline pipeline, int steps, boolean speculate, List<Message> speculativeAnswers)
            throws InterruptedException {
        int[] out = new int[steps];
        long id = 1;
        int n = prompt.length;
        pipeline.submit(Run.ofTokens(new RunHeader(id++, RunKind.PROMPT, range(0, n), filled(n, 1), new int[]{n - 1},
                ResultForm.ARGMAX), prompt));
        int token = ((Result) pipeline.next()).argmax()[0];
        for (int step = 0; step < steps; step++) {
            out[step] = token;
            if (step == steps - 1) break;
            int position = n + step;
            pipeline.submit(Run.ofTokens(new RunHeader(id++, RunKind.STEP, new int[]{position}, new long[]{1},
                    new int[]{0}, ResultForm.topK(3)), new int[]{token}));
            if (speculate) {
                long guess = id++;
                pipeline.send(KvEdit.of(new KvEdit.Commit(0, 1, 0, position + 1)));
                pipeline.submit(Run.ofTokens(new RunHeader(guess, RunKind.SPECULATIVE, new int[]{position + 1, position + 2},
                        new long[]{2, 2}, new int[]{0, 1}, ResultForm.ARGMAX), new int[]{(token * 7 + 3) % config.vocabSize(), 5}));
                if (step % 2 == 0) pipeline.cancel(guess);
                pipeline.send(KvEdit.of(new KvEdit.Remove(1, 0, Integer.MAX_VALUE)));
            }
            Result result = (Result) pipeline.next();
            token = result.argmax()[0];
            if (speculate) {
                Message answer = pipeline.next();
                if (!(answer instanceof Result || answer instanceof Message.Cancelled)) {
                    throw new AssertionError("speculative run answered with " + answer);
                }
                speculativeAnswers.add(answer);
            }
        }
        return out;
    }

    /**
     * Wraps a stage so that speculative runs with {@code runId % 8 == 5} (every other odd step; odd steps are never cancelled up front by
     * {@link #greedy}) get cancelled by the head while this stage is between its first and second layer:
     * the engine must stop at that boundary and free the run's cells.
     */
    public static dev.pipeinfer.pipeline.StageCompute cancellingMidRun(dev.pipeinfer.pipeline.StageCompute inner,
                                                                        java.util.function.LongConsumer cancel) {
        return new dev.pipeinfer.pipeline.StageCompute() {
            public int embeddingSize() { return inner.embeddingSize(); }
            public boolean isFirst() { return inner.isFirst(); }
            public boolean isLast() { return inner.isLast(); }
            public void applyKvEdit(KvEdit edit) { inner.applyKvEdit(edit); }

            public boolean compute(RunHeader run, int[] tokens, dev.pipeinfer.pipeline.Activations in,
                                   dev.pipeinfer.pipeline.Activations out, ResultSink results,
                                   java.util.function.BooleanSupplier cancelled) {
                int[] checks = {0};
                boolean target = run.kind() == RunKind.SPECULATIVE && run.runId() % 8 == 5;
                return inner.compute(run, tokens, in, out, results, () -> {
                    if (target && ++checks[0] == 2) cancel.accept(run.runId());
                    return cancelled.getAsBoolean();
                });
            }
        };
    }

    static int[] range(int from, int to) {
        int[] r = new int[to - from];
        for (int i = 0; i < r.length; i++) r[i] = from + i;
        return r;
    }

    static long[] filled(int n, long value) {
        long[] r = new long[n];
        java.util.Arrays.fill(r, value);
        return r;
    }

    static int[] ints(JsonNode array) {
        int[] r = new int[array.size()];
        for (int i = 0; i < r.length; i++) r[i] = array.get(i).asInt();
        return r;
    }

    @Override
    public void close() {
        pool.close();
        try {
            file.close();
        } catch (Exception ignored) {
            // test teardown
        }
    }
}
