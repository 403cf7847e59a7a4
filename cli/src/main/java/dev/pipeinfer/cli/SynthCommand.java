package dev.pipeinfer.cli;

import dev.pipeinfer.gguf.GgmlType;
import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.transformer.synth.ModelShape;
import dev.pipeinfer.transformer.synth.SyntheticModelWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code pipeinfer synth}: a random-weight model of a real model's shape, for benchmarks. */
@Command(name = "synth",
        description = {"Write a random-weight GGUF model with the shape of a real one, quantized in Java with ggml's",
                "block formats, so that speed and memory can be measured without downloading checkpoints.",
                "The tokenizer comes from --vocab-from; llama.cpp loads the result."},
        footer = {"", "Example (a 1.1B Llama in Q4_0, about 640 MB):",
                "  pipeinfer synth --arch llama --shape tinyllama-1.1b --type Q4_0 \\",
                "      --vocab-from testdata/tokenizer/ggml-vocab-llama-spm.gguf -o /tmp/tinyllama-q4_0.gguf"})
final class SynthCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--arch", required = true, description = "llama or falcon.")
    String arch;

    @Option(names = "--shape", required = true, description = "tinyllama-1.1b, llama-2-7b or falcon-7b.")
    String shape;

    @Option(names = "--type", required = true, description = "Weight type: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K.")
    String type;

    @Option(names = "--vocab-from", required = true, paramLabel = "GGUF", description = "GGUF file whose tokenizer the model gets.")
    Path vocabFrom;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "Where to write the model.")
    Path output;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the random weights (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        ModelShape modelShape;
        GgmlType weightType;
        try {
            modelShape = ModelShape.preset(shape);
            weightType = GgmlType.valueOf(type.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage() != null && e.getMessage().startsWith("unknown shape")
                    ? e.getMessage() : "unknown type '" + type + "'; writable: " + SyntheticModelWriter.quantizableTypes());
        }
        if (!modelShape.architecture().equals(arch)) {
            throw new ParameterException(spec.commandLine(), "shape " + shape + " is a " + modelShape.architecture()
                    + " model, not " + arch);
        }
        long start = System.nanoTime();
        long bytes;
        try (GgufFile vocab = GgufFile.open(vocabFrom)) {
            SyntheticModelWriter writer;
            try {
                writer = new SyntheticModelWriter(modelShape, weightType, vocab.metadata(), seed, System.err::println);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
            bytes = writer.write(output);
        }
        System.err.printf("synth: wrote %s (%.1f MB) in %.1f s%n", output, bytes / 1e6, (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
