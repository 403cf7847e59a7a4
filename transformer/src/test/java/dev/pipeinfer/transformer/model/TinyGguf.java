package dev.pipeinfer.transformer.model;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes tiny GGUF v3 files for config tests: chosen metadata plus zero-filled F32 tensors, so a test can
 * state exactly which keys a model has (e.g. a RoPE scaling key that no file in the test data carries).
 */
final class TinyGguf {
    private final Map<String, Object> metadata = new LinkedHashMap<>();
    private final Map<String, long[]> tensors = new LinkedHashMap<>();

    TinyGguf put(String key, Object value) {
        metadata.put(key, value);
        return this;
    }

    TinyGguf tensor(String name, long... shape) {
        tensors.put(name, shape);
        return this;
    }

    /** A llama-shaped header: the keys and the token embedding ModelConfig needs. */
    static TinyGguf llama() {
        return new TinyGguf()
                .put("general.architecture", "llama")
                .put("llama.block_count", 2)
                .put("llama.embedding_length", 64)
                .put("llama.feed_forward_length", 128)
                .put("llama.attention.head_count", 4)
                .put("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .tensor("token_embd.weight", 64, 16);
    }

    Path write(Path dir, String fileName) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        u32(out, 0x46554747); // "GGUF"
        u32(out, 3);
        u64(out, tensors.size());
        u64(out, metadata.size());
        for (var e : metadata.entrySet()) {
            string(out, e.getKey());
            Object v = e.getValue();
            switch (v) {
                case String s -> { u32(out, 8); string(out, s); }
                case Integer i -> { u32(out, 5); u32(out, i); }
                case Float f -> { u32(out, 6); u32(out, Float.floatToIntBits(f)); }
                case Boolean b -> { u32(out, 7); out.write(b ? 1 : 0); }
                default -> throw new IllegalArgumentException("unsupported value " + v);
            }
        }
        long offset = 0;
        long[] offsets = new long[tensors.size()];
        int i = 0;
        for (var e : tensors.entrySet()) {
            string(out, e.getKey());
            u32(out, e.getValue().length);
            long elements = 1;
            for (long d : e.getValue()) {
                u64(out, d);
                elements *= d;
            }
            u32(out, 0); // F32
            u64(out, offset);
            offsets[i++] = offset;
            offset += (elements * 4 + 31) / 32 * 32;
        }
        while (out.size() % 32 != 0) out.write(0);
        out.write(new byte[(int) offset]);
        Path file = dir.resolve(fileName);
        Files.write(file, out.toByteArray());
        return file;
    }

    private static void u32(ByteArrayOutputStream out, int v) {
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }

    private static void u64(ByteArrayOutputStream out, long v) {
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }

    private static void string(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u64(out, b.length);
        out.writeBytes(b);
    }
}
