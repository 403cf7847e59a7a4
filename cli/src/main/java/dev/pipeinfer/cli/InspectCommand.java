package dev.pipeinfer.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.gguf.GgufFileType;
import dev.pipeinfer.gguf.GgufMetadata;
import dev.pipeinfer.gguf.GgufTensor;
import dev.pipeinfer.gguf.GgufValue;
import dev.pipeinfer.gguf.GgufValueType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code pipeinfer inspect}: what a GGUF file holds, read from its header, metadata and tensor table
 * only (the weights are mapped, never read), so it is instant even for a 100 GB file.
 */
@Command(name = "inspect",
        mixinStandardHelpOptions = true,
        description = {
                "Show what a GGUF model file holds: architecture, size in parameters, quantization, "
                        + "hyperparameters, tokenizer, and bytes per tensor type.",
                "Only the header and tables are read, so this is instant for files of any size and is a "
                        + "quick check that a download is complete: a truncated or damaged file is refused "
                        + "with a one-line message naming the broken field and its byte offset (exit status 2)."},
        footer = {"", "Examples:",
                "  pipeinfer inspect stories260K.gguf",
                "  pipeinfer inspect --tensors llama-2-7b.Q4_K_M.gguf | grep blk.0.",
                "  pipeinfer inspect --json model.gguf | jq .parameter_count"},
        sortOptions = false)
public final class InspectCommand implements Callable<Integer> {

    @Parameters(paramLabel = "FILE", description = "The GGUF file (version 2 or 3) to inspect.")
    Path file;

    @Option(names = "--tensors", description = "Also list every tensor: name, type, shape (ggml order, "
            + "row length first) and byte offset in the data section.")
    boolean tensors;

    @Option(names = "--json", description = "Print one JSON object with snake_case keys instead of text.")
    boolean json;

    @Spec
    CommandSpec spec;

    /** Count and bytes of the tensors of one GGML type. */
    public record TypeTotal(int tensors, long bytes) {}

    /** One row of the tensor table. */
    public record TensorRow(String name, String type, long[] shape, long offset, long bytes) {}

    /**
     * What inspect reports. Hyperparameters come from the {@code <architecture>.*} keys and are null
     * when the file does not have them (a vocabulary-only file has none).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Report(String file, long fileSize, int ggufVersion, String architecture, String name,
                         long parameterCount, String fileType, Long fileTypeId, int tensorCount,
                         Map<String, TypeTotal> tensorTypes, Long blockCount, Long contextLength,
                         Long embeddingLength, Long feedForwardLength, Long headCount, Long headCountKv,
                         Long vocabSize, String tokenizerModel, List<TensorRow> tensors) {}

    @Override
    public Integer call() throws Exception {
        Report report;
        try (GgufFile f = GgufFile.open(file)) {
            report = report(f, tensors);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(JSON.writeValueAsString(report));
        } else {
            printText(report, out);
        }
        out.flush();
        return ErrorReporting.OK;
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    static Report report(GgufFile f, boolean withTensors) {
        GgufMetadata md = f.metadata();
        String arch = md.getString("general.architecture", null);
        String prefix = arch + ".";
        long parameters = 0;
        Map<String, TypeTotal> byType = new TreeMap<>();
        List<TensorRow> rows = withTensors ? new ArrayList<>() : null;
        for (GgufTensor t : f.tensors()) {
            parameters += t.elementCount();
            byType.merge(t.type().name(), new TypeTotal(1, t.byteSize()),
                    (a, b) -> new TypeTotal(a.tensors() + b.tensors(), a.bytes() + b.bytes()));
            if (rows != null) rows.add(new TensorRow(t.name(), t.type().name(), t.shape(), t.offset(), t.byteSize()));
        }
        Long fileTypeId = md.contains("general.file_type") ? md.getLong("general.file_type") : null;
        Long vocab = md.find("tokenizer.ggml.tokens").filter(v -> v.type() == GgufValueType.ARRAY)
                .map(v -> (long) md.getArray("tokenizer.ggml.tokens").length())
                .orElse(integer(md, prefix + "vocab_size"));
        return new Report(f.path().toString(), f.fileSize(), f.version(), arch, md.getString("general.name", null),
                parameters, fileTypeId == null ? null : GgufFileType.describe(fileTypeId), fileTypeId,
                f.tensors().size(), byType, integer(md, prefix + "block_count"), integer(md, prefix + "context_length"),
                integer(md, prefix + "embedding_length"), integer(md, prefix + "feed_forward_length"),
                integer(md, prefix + "attention.head_count"), integer(md, prefix + "attention.head_count_kv"),
                vocab, md.getString("tokenizer.ggml.model", null), rows);
    }

    /** A scalar integer key, or null when absent (a per-layer array, as some models store, is shown as null). */
    private static Long integer(GgufMetadata md, String key) {
        GgufValue v = md.find(key).orElse(null);
        if (v == null || v.type() == GgufValueType.ARRAY) return null;
        return md.getLong(key);
    }

    private static void printText(Report r, PrintWriter out) {
        String format = "%-16s %s%n";
        out.printf(Locale.ROOT, format, "file", r.file() + " (" + bytes(r.fileSize()) + ")");
        out.printf(Locale.ROOT, format, "gguf version", r.ggufVersion());
        out.printf(Locale.ROOT, format, "architecture", orDash(r.architecture()));
        out.printf(Locale.ROOT, format, "name", orDash(r.name()));
        out.printf(Locale.ROOT, format, "parameters", String.format(Locale.ROOT, "%,d", r.parameterCount()));
        out.printf(Locale.ROOT, format, "file type", r.fileType() == null ? "- (general.file_type not set)" : r.fileType() + " (" + r.fileTypeId() + ")");
        out.printf(Locale.ROOT, format, "tensors", r.tensorCount());
        r.tensorTypes().forEach((type, total) -> out.printf(Locale.ROOT, "  %-14s %d tensors, %s%n", type, total.tensors(), bytes(total.bytes())));
        out.printf(Locale.ROOT, format, "blocks", orDash(r.blockCount()));
        out.printf(Locale.ROOT, format, "context length", orDash(r.contextLength()));
        out.printf(Locale.ROOT, format, "embedding size", orDash(r.embeddingLength()));
        out.printf(Locale.ROOT, format, "feed-forward", orDash(r.feedForwardLength()));
        out.printf(Locale.ROOT, format, "heads", orDash(r.headCount()) + " (KV heads " + orDash(r.headCountKv()) + ")");
        out.printf(Locale.ROOT, format, "vocabulary", orDash(r.vocabSize()) + " (tokenizer " + orDash(r.tokenizerModel()) + ")");
        if (r.tensors() != null) {
            out.println();
            out.printf(Locale.ROOT, "%-40s %-8s %-28s %14s %14s%n", "tensor", "type", "shape", "offset", "bytes");
            for (TensorRow t : r.tensors()) {
                out.printf(Locale.ROOT, "%-40s %-8s %-28s %14d %14d%n", t.name(), t.type(), shape(t.shape()), t.offset(), t.bytes());
            }
        }
    }

    private static String shape(long[] shape) {
        StringBuilder sb = new StringBuilder();
        for (long d : shape) sb.append(sb.isEmpty() ? "" : " x ").append(d);
        return sb.toString();
    }

    private static String orDash(Object o) {
        return o == null ? "-" : o.toString();
    }

    /** Exact bytes, with a binary-unit figure for reading at a glance. */
    static String bytes(long n) {
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%,d bytes", n) + (u < 0 ? "" : String.format(Locale.ROOT, ", %.1f %s", v, units[u]));
    }
}
