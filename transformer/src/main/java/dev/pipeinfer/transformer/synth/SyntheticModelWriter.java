package dev.pipeinfer.transformer.synth;

import dev.pipeinfer.gguf.GgmlType;
import dev.pipeinfer.gguf.GgufMetadata;
import dev.pipeinfer.gguf.GgufValue;
import dev.pipeinfer.gguf.GgufWriter;
import dev.pipeinfer.tensor.TensorFormat;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * Writes a random-weight GGUF model of a real model's shape, quantized in Java with ggml's block
 * formats, with the tokenizer of a vocabulary file. llama.cpp loads what it writes: the metadata keys
 * and tensor names are the ones its converters produce.
 *
 * <p>Weights are Gaussian with the scales of an initialised transformer (1/sqrt(fan-in) for projections),
 * so activations stay in a realistic range. Every row is drawn from its own seeded generator, which makes
 * the file a pure function of (shape, type, vocabulary, seed) however many threads produce it.
 */
public final class SyntheticModelWriter {
    /** Rows quantized per piece handed to the writer; bounds the heap used whatever the model size. */
    private static final int ROWS_PER_PIECE = 256;

    private final ModelShape shape;
    private final GgmlType type;
    private final GgufMetadata vocabulary;
    private final long seed;
    private final Consumer<String> progress;

    public SyntheticModelWriter(ModelShape shape, GgmlType type, GgufMetadata vocabulary, long seed, Consumer<String> progress) {
        TensorFormat format = TensorFormat.isSupported(type) ? TensorFormat.of(type) : null;
        if (format == null || !format.canQuantize()) {
            throw new IllegalArgumentException("cannot write " + type + " weights; supported: " + quantizableTypes());
        }
        this.shape = shape;
        this.type = type;
        this.vocabulary = vocabulary;
        this.seed = seed;
        this.progress = progress;
    }

    public static List<GgmlType> quantizableTypes() {
        List<GgmlType> types = new ArrayList<>();
        for (GgmlType t : GgmlType.values()) {
            if (TensorFormat.isSupported(t) && TensorFormat.of(t).canQuantize()) types.add(t);
        }
        return types;
    }

    /** The tensors of the model: name, shape (ggml order), and the std of their random values. */
    record Planned(String name, long[] ne, float std, boolean norm, float mean) {
        static Planned matrix(String name, long cols, long rows, double std) {
            return new Planned(name, new long[] {cols, rows}, (float) std, false, 0);
        }

        static Planned vector(String name, long n, float mean, float std) {
            return new Planned(name, new long[] {n}, std, true, mean);
        }
    }

    List<Planned> plan(int vocabSize) {
        int e = shape.embeddingLength(), ff = shape.feedForwardLength(), kv = shape.headCountKv() * shape.headDim();
        double inv = 1 / Math.sqrt(e), invFf = 1 / Math.sqrt(ff);
        List<Planned> p = new ArrayList<>();
        boolean falcon = shape.architecture().equals("falcon");
        p.add(Planned.matrix("token_embd.weight", e, vocabSize, 1));
        for (int i = 0; i < shape.blockCount(); i++) {
            String b = "blk." + i + ".";
            p.add(Planned.vector(b + "attn_norm.weight", e, 1, 0.1f));
            if (falcon) {
                p.add(Planned.vector(b + "attn_norm.bias", e, 0, 0.1f));
                p.add(Planned.matrix(b + "attn_qkv.weight", e, e + 2L * kv, inv));
                p.add(Planned.matrix(b + "attn_output.weight", e, e, inv));
                p.add(Planned.matrix(b + "ffn_up.weight", e, ff, inv));
                p.add(Planned.matrix(b + "ffn_down.weight", ff, e, invFf));
            } else {
                p.add(Planned.matrix(b + "attn_q.weight", e, e, inv));
                p.add(Planned.matrix(b + "attn_k.weight", e, kv, inv));
                p.add(Planned.matrix(b + "attn_v.weight", e, kv, inv));
                p.add(Planned.matrix(b + "attn_output.weight", e, e, inv));
                p.add(Planned.vector(b + "ffn_norm.weight", e, 1, 0.1f));
                p.add(Planned.matrix(b + "ffn_gate.weight", e, ff, inv));
                p.add(Planned.matrix(b + "ffn_up.weight", e, ff, inv));
                p.add(Planned.matrix(b + "ffn_down.weight", ff, e, invFf));
            }
        }
        p.add(Planned.vector("output_norm.weight", e, 1, 0.1f));
        if (falcon) p.add(Planned.vector("output_norm.bias", e, 0, 0.1f));
        p.add(Planned.matrix("output.weight", e, vocabSize, 2 * inv));
        return p;
    }

    /**
     * The type a matrix with rows of {@code cols} is stored in: the requested one, or, when its block does
     * not divide the row (Falcon-7B's 4544 is not a multiple of 256), the fallback llama.cpp's quantizer
     * uses for that type.
     */
    GgmlType typeFor(long cols) {
        if (cols % type.blockSize == 0) return type;
        GgmlType fallback = switch (type) {
            case Q2_K, Q3_K -> GgmlType.Q4_0;
            case Q4_K -> GgmlType.Q5_0;
            case Q5_K -> GgmlType.Q5_1;
            case Q6_K -> GgmlType.Q8_0;
            default -> GgmlType.F16;
        };
        return cols % fallback.blockSize == 0 ? fallback : GgmlType.F16;
    }

    /** Writes the model; returns its size in bytes. */
    public long write(Path out) throws IOException {
        String[] tokens = vocabulary.getStringArray("tokenizer.ggml.tokens");
        GgufWriter w = new GgufWriter();
        String arch = shape.architecture();
        w.put("general.architecture", GgufValue.ofString(arch));
        w.put("general.name", GgufValue.ofString("synthetic " + shape.id() + " " + type + " (random weights, seed " + seed + ")"));
        w.put("general.description", GgufValue.ofString("written by pipeinfer synth for benchmarks; not a trained model"));
        w.put("general.file_type", GgufValue.ofUInt32(fileType(type)));
        if (type.isQuantized()) w.put("general.quantization_version", GgufValue.ofUInt32(2));
        w.put(arch + ".context_length", GgufValue.ofUInt32(shape.contextLength()));
        w.put(arch + ".embedding_length", GgufValue.ofUInt32(shape.embeddingLength()));
        w.put(arch + ".vocab_size", GgufValue.ofUInt32(tokens.length));
        w.put(arch + ".block_count", GgufValue.ofUInt32(shape.blockCount()));
        w.put(arch + ".feed_forward_length", GgufValue.ofUInt32(shape.feedForwardLength()));
        w.put(arch + ".attention.head_count", GgufValue.ofUInt32(shape.headCount()));
        w.put(arch + ".attention.head_count_kv", GgufValue.ofUInt32(shape.headCountKv()));
        if (arch.equals("llama")) {
            w.put("llama.rope.dimension_count", GgufValue.ofUInt32(shape.headDim()));
            w.put("llama.rope.freq_base", GgufValue.ofFloat32(10000f));
            w.put("llama.attention.layer_norm_rms_epsilon", GgufValue.ofFloat32(shape.normEpsilon()));
        } else {
            w.put("falcon.attention.layer_norm_epsilon", GgufValue.ofFloat32(shape.normEpsilon()));
        }
        for (Map.Entry<String, GgufValue> kv : vocabulary.asMap().entrySet()) {
            if (kv.getKey().startsWith("tokenizer.")) w.put(kv.getKey(), GgufValue.of(kv.getValue().type(), kv.getValue().value()));
        }
        List<Planned> plan = plan(tokens.length);
        for (int t = 0; t < plan.size(); t++) {
            Planned p = plan.get(t);
            GgmlType storedAs = p.norm ? GgmlType.F32 : typeFor(p.ne[0]);
            long tensorSeed = seed * 1_000_003L + t;
            int index = t;
            w.tensor(p.name, storedAs, p.ne, sink -> {
                writeRandom(p, storedAs, tensorSeed, sink);
                progress.accept("synth: tensor " + (index + 1) + "/" + plan.size() + " " + p.name + " (" + storedAs + ")");
            });
        }
        return w.write(out);
    }

    private static void writeRandom(Planned p, GgmlType storedAs, long tensorSeed, GgufWriter.TensorSink sink) throws IOException {
        int cols = (int) p.ne[0];
        int rows = p.ne.length > 1 ? (int) p.ne[1] : 1;
        TensorFormat format = TensorFormat.of(storedAs);
        long rowBytes = format.rowBytes(cols);
        int piece = (int) Math.max(1, Math.min(ROWS_PER_PIECE, (64L << 20) / rowBytes));
        ByteBuffer buffer = ByteBuffer.allocateDirect((int) (rowBytes * piece)).order(ByteOrder.LITTLE_ENDIAN);
        MemorySegment bytes = MemorySegment.ofBuffer(buffer);
        for (int first = 0; first < rows; first += piece) {
            int count = Math.min(piece, rows - first);
            int base = first;
            IntStream.range(0, count).parallel().forEach(i -> {
                float[] values = new float[cols];
                SplittableRandom random = new SplittableRandom(tensorSeed * 0x9E3779B97F4A7C15L + base + i);
                for (int c = 0; c < cols; c++) values[c] = (float) (p.mean + p.std * random.nextGaussian());
                format.quantizeRow(values, 0, bytes, i * rowBytes, cols);
            });
            sink.write(buffer.duplicate().position(0).limit((int) (count * rowBytes)));
        }
    }

    /** llama.cpp's {@code general.file_type} code for a model that is mostly of this type. */
    static int fileType(GgmlType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case Q2_K -> 10;
            case Q3_K -> 12;
            case Q4_K -> 15;
            case Q5_K -> 17;
            case Q6_K -> 18;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("no llama.cpp file type for " + type);
        };
    }
}
