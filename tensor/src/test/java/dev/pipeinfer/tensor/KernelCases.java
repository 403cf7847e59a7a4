package dev.pipeinfer.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pipeinfer.gguf.GgmlType;
import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.GgufTensor;
import dev.pipeinfer.gguf.testdata.TestData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The ggml kernel references (README section 4.3): for one tensor, the first 8 rows' bytes, ggml's
 * dequantization of them, the activation matrix X [4 x k], and ggml's products (mm: llama.cpp's CPU
 * result; mmexact: the same product in double from the dequantized rows).
 *
 * <p>Two sources: the core copy in {@code testdata/kernels/} (one entry per (type, row length) of the full
 * set, weights as raw .bin files, always present), and, when {@code ../shared/testdata} is beside the
 * repository, every entry of every {@code refs/<model>/kernels/kernels.json}, weights read from the model.
 */
record KernelCases(String label, GgmlType type, int k, int rows, MemorySegment weights,
                   float[] deq, float[] x, float[] mm, float[] mmexact) {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static List<KernelCases> core;
    private static List<KernelCases> full;

    @Override
    public String toString() {
        return label;
    }

    WeightMatrix matrix() {
        return new WeightMatrix(type, weights, rows, k);
    }

    static GgmlType typeNamed(String ggmlName) {
        return GgmlType.valueOf(ggmlName.toUpperCase());
    }

    /** The core set: one case per (type, row length), from testdata/kernels/index.json. */
    static synchronized List<KernelCases> core() {
        if (core != null) return core;
        Path dir = TestData.require("kernels/index.json").getParent();
        List<KernelCases> cases = new ArrayList<>();
        for (JsonNode e : readJson(dir.resolve("index.json")).get("entries")) {
            GgmlType type = typeNamed(e.get("type").asText());
            int k = e.get("ne").get(0).asInt();
            int rows = e.get("rows").asInt();
            MemorySegment w = Arena.ofAuto().allocate(type.rowBytes(k) * rows);
            w.copyFrom(MemorySegment.ofArray(readBytes(dir.resolve(e.get("weights_file").asText()))));
            cases.add(new KernelCases("core " + type + " k=" + k + " (" + e.get("model").asText() + " " + e.get("tensor").asText() + ")",
                    type, k, rows, w, readFloats(dir.resolve(e.get("deq_file").asText())),
                    readFloats(dir.resolve(e.get("x_file").asText())), readFloats(dir.resolve(e.get("mm_file").asText())),
                    readFloats(dir.resolve(e.get("mmexact_file").asText()))));
        }
        return core = List.copyOf(cases);
    }

    /** Every kernels.json entry of the full shared set (empty when it is absent). */
    static synchronized List<KernelCases> full() {
        if (full != null) return full;
        List<KernelCases> cases = new ArrayList<>();
        if (TestData.shared().isPresent()) {
            Path root = TestData.shared().get();
            try (Stream<Path> models = Files.list(root.resolve("refs"))) {
                for (Path refDir : models.sorted().toList()) {
                    Path index = refDir.resolve("kernels/kernels.json");
                    if (!Files.exists(index)) continue;
                    String model = refDir.getFileName().toString();
                    try (GgufFile file = GgufFile.open(root.resolve("models").resolve(model + ".gguf"))) {
                        for (JsonNode e : readJson(index).get("tensors")) {
                            GgufTensor t = file.tensor(e.get("tensor").asText());
                            GgmlType type = typeNamed(e.get("type").asText());
                            if (t.type() != type) throw new IllegalStateException(model + " " + t + " but kernels.json says " + type);
                            int k = (int) t.rowLength();
                            int rows = e.get("rows").asInt();
                            MemorySegment w = Arena.ofAuto().allocate(t.rowBytes() * rows);
                            w.copyFrom(t.data().asSlice(0, t.rowBytes() * rows));
                            Path kd = index.getParent();
                            cases.add(new KernelCases(model + " " + t.name() + " " + type + " k=" + k, type, k, rows, w,
                                    readFloats(kd.resolve(e.get("deq_file").asText())), readFloats(kd.resolve(e.get("x_file").asText())),
                                    readFloats(kd.resolve(e.get("mm_file").asText())), readFloats(kd.resolve(e.get("mmexact_file").asText()))));
                        }
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return full = List.copyOf(cases);
    }

    /** Core cases, then every full-set case when the shared data is present. */
    static List<KernelCases> all() {
        List<KernelCases> all = new ArrayList<>(core());
        all.addAll(full());
        System.out.println("[testdata] kernel cases: " + core().size() + " core"
                + (full().isEmpty() ? " (../shared/testdata not found: core set only)" : " + " + full().size() + " from the full set"));
        return all;
    }

    static JsonNode readJson(Path p) {
        try {
            return JSON.readTree(p.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] readBytes(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static float[] readFloats(Path p) {
        ByteBuffer b = ByteBuffer.wrap(readBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }
}
