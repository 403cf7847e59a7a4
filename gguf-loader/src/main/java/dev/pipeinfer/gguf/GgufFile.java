package dev.pipeinfer.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An open GGUF file (version 2 or 3): metadata, tensor table, and tensors as slices of one read-only
 * memory mapping.
 *
 * <p>The whole file is mapped once with {@link FileChannel#map(FileChannel.MapMode, long, long, Arena)},
 * which works for files of any size (a 70 GB Goliath included) and copies nothing: the OS brings in only
 * the pages of the tensors a node actually reads, so a pipeline stage that touches only its layers has
 * only those resident. Closing the file unmaps it; tensor segments must not be used afterwards.
 *
 * <pre>{@code
 * try (GgufFile f = GgufFile.open(Path.of("model.gguf"))) {
 *     int layers = f.metadata().getInt("llama.block_count");
 *     MemorySegment wq = f.tensor("blk.0.attn_q.weight").data();
 * }
 * }</pre>
 */
public final class GgufFile implements AutoCloseable {
    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final GgufParser.Header header;
    private final GgufMetadata metadata;
    private final List<GgufTensor> tensors;
    private final Map<String, GgufTensor> byName;

    private GgufFile(Path path, Arena arena, MemorySegment mapping, GgufParser.Header header) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        this.header = header;
        this.metadata = new GgufMetadata(path, header.metadata());
        List<GgufTensor> list = new ArrayList<>(header.tensors().size());
        Map<String, GgufTensor> map = new LinkedHashMap<>();
        for (GgufParser.TensorEntry e : header.tensors()) {
            MemorySegment data = mapping.asSlice(header.dataOffset() + e.offset(), e.byteSize());
            GgufTensor t = new GgufTensor(e.name(), e.type(), e.shape(), e.offset(), e.byteSize(), data);
            list.add(t);
            map.put(t.name(), t);
        }
        this.tensors = Collections.unmodifiableList(list);
        this.byName = Collections.unmodifiableMap(map);
    }

    /**
     * Maps and parses a GGUF file.
     *
     * @throws GgufFormatException when the file is not a well-formed GGUF v2/v3 file
     * @throws IOException         when it cannot be opened or mapped
     */
    public static GgufFile open(Path path) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no such file");
        if (Files.isDirectory(path)) throw new FileSystemException(path.toString(), null, "is a directory, not a GGUF file");
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return new GgufFile(path, arena, mapping, GgufParser.parse(path, mapping));
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Parses a GGUF image that is already in memory, labelled {@code label} in messages; closing the
     * result releases nothing. For tests that try thousands of images without touching the disk.
     */
    static GgufFile fromImage(Path label, MemorySegment image) {
        return new GgufFile(label, null, image, GgufParser.parse(label, image));
    }

    public Path path() {
        return path;
    }

    public int version() {
        return header.version();
    }

    public long fileSize() {
        return mapping.byteSize();
    }

    /** {@code general.alignment}, or 32 when the file does not set it. */
    public int alignment() {
        return header.alignment();
    }

    /** Byte offset of the end of the tensor table, where padding up to the data section begins. */
    public long tableEnd() {
        return header.tableEnd();
    }

    /** Byte offset of the data section; tensor offsets are relative to it. */
    public long dataOffset() {
        return header.dataOffset();
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    /** Tensors in table order. */
    public List<GgufTensor> tensors() {
        return tensors;
    }

    public Optional<GgufTensor> findTensor(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** The named tensor, or a {@link GgufFormatException} saying the file lacks it. */
    public GgufTensor tensor(String name) {
        GgufTensor t = byName.get(name);
        if (t == null) throw new GgufFormatException(path, "tensor '" + name + "'", -1, "missing from the tensor table");
        return t;
    }

    /**
     * SHA-256 of everything before the data section (header, metadata, tensor table): two nodes agree on
     * it exactly when they hold the same model layout, without hashing gigabytes of weights.
     */
    public String fingerprint() {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(mapping.asSlice(0, header.tableEnd()).asByteBuffer());
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    @Override
    public void close() {
        if (arena != null) arena.close();
    }

    @Override
    public String toString() {
        return path + " (GGUF v" + version() + ", " + tensors.size() + " tensors, " + metadata.keys().size() + " keys)";
    }
}
