package dev.pipeinfer.gguf;

import java.nio.file.Path;

/**
 * A GGUF file that cannot be used as it is: malformed bytes, an unsupported version, or a metadata key
 * that is missing or of the wrong type. The message always names the file and the field, and the byte
 * offset where the field starts when there is one, e.g.
 * {@code model.gguf: tensor[17] 'blk.3.ffn_up.weight' offset (byte 4123): not a multiple of the alignment 32}.
 */
public final class GgufFormatException extends RuntimeException {
    private final Path file;
    private final String field;
    private final long offset;
    private final String problem;

    public GgufFormatException(Path file, String field, long offset, String problem) {
        super(format(file, field, offset, problem));
        this.file = file;
        this.field = field;
        this.offset = offset;
        this.problem = problem;
    }

    private static String format(Path file, String field, long offset, String problem) {
        String where = offset >= 0 ? " (byte " + offset + ")" : "";
        return (file == null ? "<memory>" : file.toString()) + ": " + field + where + ": " + problem;
    }

    /** The file, or null for an in-memory image. */
    public Path file() {
        return file;
    }

    /** The field, e.g. {@code header.version} or {@code kv[3] 'general.alignment'}. */
    public String field() {
        return field;
    }

    /** Byte offset of the field in the file, or -1 when it has none (e.g. a missing key). */
    public long offset() {
        return offset;
    }

    /** What is wrong, without the file and field. */
    public String problem() {
        return problem;
    }
}
