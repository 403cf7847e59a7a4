package dev.pipeinfer.pipeline.fake;

import dev.pipeinfer.pipeline.Activations;
import dev.pipeinfer.pipeline.KvEdit;
import dev.pipeinfer.pipeline.RunHeader;
import dev.pipeinfer.pipeline.StageCompute;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * A deterministic stand-in for a transformer layer slice, small enough to reason about and sensitive
 * to exactly what the transport must preserve:
 * <ul>
 *   <li>every layer mixes in a per-layer function of the token's position and of how many KV cells the
 *   token can see (cells at positions <= its own whose sequence set meets its own), so an output
 *   depends on every earlier run and KV edit and on the order they were applied in;</li>
 *   <li>each run first writes one cell per token (position, sequence set) into a fake per-stage KV
 *   cache, which {@link KvEdit}s then edit like the real one (commit / remove / keep);</li>
 *   <li>an event log records runs, edits and cancellations in the order this stage saw them.</li>
 * </ul>
 * Runs of the same fakes called directly (no pipeline) give the reference the pipeline must match.
 */
public final class FakeStageCompute implements StageCompute {

    /** Called before each layer (after the cancellation check), for tests that hold a run mid-way. */
    public interface LayerHook {
        void beforeLayer(long runId, int layer) throws InterruptedException;
    }

    private record Cell(int position, long sequences) {
    }

    private final int stageIndex;
    private final int stageCount;
    private final int layers;
    private final int embd;
    private final int vocab;
    private final List<Cell> cells = new ArrayList<>();
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());
    private volatile LayerHook hook = (run, layer) -> { };
    private float[] scratch = new float[0];
    private final float[] logits;

    public FakeStageCompute(int stageIndex, int stageCount, int layers, int embd, int vocab) {
        this.stageIndex = stageIndex;
        this.stageCount = stageCount;
        this.layers = layers;
        this.embd = embd;
        this.vocab = vocab;
        this.logits = new float[vocab];
    }

    /** A chain of fakes forming one model split into {@code stages} slices. */
    public static List<FakeStageCompute> chain(int stages, int layersPerStage, int embd, int vocab) {
        List<FakeStageCompute> all = new ArrayList<>();
        for (int i = 0; i < stages; i++) all.add(new FakeStageCompute(i, stages, layersPerStage, embd, vocab));
        return all;
    }

    public void setHook(LayerHook hook) {
        this.hook = hook;
    }

    /** What this stage did, in order: "run 3", "cancel 5 before layer 2", "edit [...]". */
    public List<String> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    public synchronized int cellCount() {
        return cells.size();
    }

    public int vocab() {
        return vocab;
    }

    @Override
    public int embeddingSize() {
        return embd;
    }

    @Override
    public boolean isFirst() {
        return stageIndex == 0;
    }

    @Override
    public boolean isLast() {
        return stageIndex == stageCount - 1;
    }

    @Override
    public synchronized boolean compute(RunHeader run, int[] tokens, Activations in, Activations out,
                                        ResultSink results, BooleanSupplier cancelled) {
        int n = run.tokenCount();
        float[] x = isLast() ? scratch(n * embd) : out.data();
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < embd; j++) {
                x[t * embd + j] = isFirst() ? embed(tokens[t], j) : in.data()[t * embd + j];
            }
        }
        for (int t = 0; t < n; t++) cells.add(new Cell(run.positions()[t], run.sequenceSets()[t]));

        for (int layer = 0; layer < layers; layer++) {
            if (cancelled.getAsBoolean()) {
                events.add("cancel " + run.runId() + " before layer " + layer);
                return false;
            }
            try {
                hook.beforeLayer(run.runId(), layer);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted in layer " + layer, e);
            }
            int globalLayer = stageIndex * layers + layer;
            for (int t = 0; t < n; t++) {
                int visible = visibleCells(run.positions()[t], run.sequenceSets()[t]);
                int p = run.positions()[t];
                for (int j = 0; j < embd; j++) {
                    float v = x[t * embd + j];
                    x[t * embd + j] = 0.75f * v + 0.03125f * (globalLayer + 1) * visible
                            + 0.0078125f * ((p + j * 3 + globalLayer) % 11);
                }
            }
        }
        events.add("run " + run.runId());
        if (isLast()) {
            int[] rows = run.outputRows();
            for (int o = 0; o < rows.length; o++) {
                int base = rows[o] * embd;
                for (int v = 0; v < vocab; v++) {
                    float sum = 0;
                    for (int j = 0; j < embd; j++) sum += x[base + j] * weight(v, j);
                    logits[v] = sum;
                }
                results.accept(o, logits, 0, vocab);
            }
        }
        return true;
    }

    private float[] scratch(int size) {
        if (scratch.length < size) scratch = new float[size];
        return scratch;
    }

    private int visibleCells(int position, long sequences) {
        int count = 0;
        for (Cell c : cells) {
            if (c.position() <= position && (c.sequences() & sequences) != 0) count++;
        }
        return count;
    }

    private static float embed(int token, int j) {
        return ((token * 31 + j * 7) % 97) / 97f - 0.5f;
    }

    private static float weight(int v, int j) {
        return ((v * 13 + j * 5) % 17 - 8) / 8f;
    }

    @Override
    public synchronized void applyKvEdit(KvEdit edit) {
        for (KvEdit.Op op : edit.ops()) {
            switch (op) {
                case KvEdit.Commit c -> {
                    for (int i = 0; i < cells.size(); i++) {
                        Cell cell = cells.get(i);
                        if ((cell.sequences() & bit(c.src())) != 0 && cell.position() >= c.p0() && cell.position() < c.p1()) {
                            cells.set(i, new Cell(cell.position(), cell.sequences() | bit(c.dst())));
                        }
                    }
                }
                case KvEdit.Remove r -> edit(cell -> cell.position() >= r.p0() && cell.position() < r.p1()
                        ? cell.sequences() & ~bit(r.seq()) : cell.sequences());
                case KvEdit.Keep k -> edit(cell -> cell.sequences() & bit(k.seq()));
            }
        }
        events.add("edit " + edit.ops());
    }

    private void edit(java.util.function.ToLongFunction<Cell> newSequences) {
        List<Cell> kept = new ArrayList<>();
        for (Cell cell : cells) {
            long s = newSequences.applyAsLong(cell);
            if (s != 0) kept.add(new Cell(cell.position(), s));
        }
        cells.clear();
        cells.addAll(kept);
    }

    private static long bit(int seq) {
        return 1L << seq;
    }
}
