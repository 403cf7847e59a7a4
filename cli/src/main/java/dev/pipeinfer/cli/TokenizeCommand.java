package dev.pipeinfer.cli;

import dev.pipeinfer.gguf.GgufFile;
import dev.pipeinfer.transformer.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pipeinfer tokenize}: the token ids of a text, as llama.cpp's llama-tokenize prints them. */
@Command(name = "tokenize",
        description = {"Print the token ids of a prompt with the model's own tokenizer.",
                "The BOS token is added when the vocabulary asks for it (as llama.cpp does), unless --no-bos."},
        footer = {"", "Example:", "  pipeinfer tokenize --model testdata/models/stories260K.gguf --prompt \"Once upon a time\""})
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "GGUF model or vocab-only file.")
    Path model;

    @Option(names = {"-p", "--prompt"}, required = true, description = "Text to tokenize.")
    String prompt;

    @Option(names = "--no-bos", description = "Do not add the BOS (and EOS) tokens the vocabulary would add.")
    boolean noBos;

    @Option(names = "--parse-special", description = "Turn special-token texts such as <s> in the prompt into their ids.")
    boolean parseSpecial;

    @Option(names = "--pieces", description = "Print one 'id -> piece' line per token instead of the id list.")
    boolean pieces;

    @Override
    public Integer call() throws Exception {
        try (GgufFile file = GgufFile.open(model)) {
            Tokenizer tokenizer = Tokenizer.from(file.metadata());
            int[] ids = tokenizer.encode(prompt, !noBos, parseSpecial);
            PrintWriter out = spec.commandLine().getOut();
            if (pieces) {
                for (int id : ids) {
                    String piece = new String(tokenizer.piece(id, true), StandardCharsets.UTF_8);
                    out.printf("%6d -> '%s'%n", id, piece);
                }
            } else {
                out.println(Arrays.toString(ids));
            }
            out.flush();
        }
        return 0;
    }
}
