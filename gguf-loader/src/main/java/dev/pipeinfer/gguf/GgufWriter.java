package dev.pipeinfer.gguf;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes GGUF files (version 3 by default, 2 on request): metadata with the declared type of every value
 * kept exactly, and tensors placed at {@code general.alignment} (32 unless the metadata sets it).
 *
 * <p>By default tensors follow llama.cpp's standard layout: in table order, each starting at the next
 * multiple of the alignment, the gaps and the tail after the last tensor zero-filled. A tensor may
 * instead be given an explicit offset (to reproduce another file's layout, or to place data far out).
 *
 * <p>Tensor bytes are streamed, never gathered on the heap: from a {@link MemorySegment} (for example a
 * tensor of another mapped file) or from a {@link TensorSource} callback that produces them in pieces.
 * A <em>sparse</em> tensor is declared but never written; its bytes are a hole in the file that reads as
 * zeros and takes no disk, so a test can make a file of many gigabytes in an instant.
 *
 * <p>The file is written to a temporary file in the target's directory and renamed over the target only
 * when everything has been written and forced to disk: a failure never leaves a half-written file.
 *
 * <pre>{@code
 * new GgufWriter()
 *     .put("general.architecture", GgufValue.ofString("llama"))
 *     .tensor("token_embd.weight", GgmlType.F32, new long[] {64, 512}, embeddings)
 *     .write(Path.of("model.gguf"));
 * }</pre>
 */
public final class GgufWriter {
    /** Produces a tensor's bytes, in order, into the sink; it must deliver exactly the tensor's size. */
    @FunctionalInterface
    public interface TensorSource {
        void writeTo(TensorSink sink) throws IOException;
    }

    /** Where a {@link TensorSource} puts its bytes. */
    public interface TensorSink {
        void write(ByteBuffer bytes) throws IOException;

        /** Native and mapped segments are written in place; heap segments of other than bytes are staged. */
        default void write(MemorySegment bytes) throws IOException {
            boolean viewable = bytes.heapBase().map(base -> base instanceof byte[]).orElse(true);
            long chunk = viewable ? CHUNK : STAGING;
            ByteBuffer staging = viewable ? null : ByteBuffer.allocate((int) Math.min(STAGING, bytes.byteSize()));
            for (long at = 0; at < bytes.byteSize(); at += chunk) {
                MemorySegment piece = bytes.asSlice(at, Math.min(chunk, bytes.byteSize() - at));
                if (viewable) {
                    write(piece.asByteBuffer());
                } else {
                    staging.clear().limit((int) piece.byteSize());
                    MemorySegment.ofBuffer(staging).copyFrom(piece);
                    write(staging);
                }
            }
        }
    }

    /** Writes of mapped or heap segments go through ByteBuffer views of at most this many bytes. */
    private static final long CHUNK = 8 << 20;
    /** Heap segments over arrays other than byte[] have no ByteBuffer view; they are copied through this much. */
    private static final long STAGING = 1 << 20;
    /** Gaps up to this size are written as zeros; larger ones are left as holes (which read as zeros). */
    private static final long MAX_WRITTEN_GAP = 1 << 20;
    private static final long AUTO = -1;

    private record Pending(String name, GgmlType type, long[] shape, long byteSize, long requestedOffset,
                           TensorSource source) {}

    private record Placed(Pending tensor, long offset) {}

    private int version = 3;
    private boolean padWithoutTensors = false;
    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Pending> tensors = new ArrayList<>();
    private final Set<String> names = new HashSet<>();

    /**
     * A writer with the version, metadata and tensors of {@code source}, each tensor at its original
     * offset in the data section and its bytes streamed from the source's mapping. Written unchanged, a
     * file in the standard layout comes out byte for byte the same.
     */
    public static GgufWriter copyOf(GgufFile source) {
        GgufWriter w = new GgufWriter().version(source.version()).putAll(source.metadata());
        for (GgufTensor t : source.tensors()) {
            w.tensorAt(t.offset(), t.name(), t.type(), t.shape(), sink -> sink.write(t.data()));
        }
        return w.padWithoutTensors(source.tensors().isEmpty() && source.fileSize() > source.tableEnd());
    }

    /** GGUF version 3 (the default) or 2; their little-endian layouts are the same. */
    public GgufWriter version(int version) {
        if (version != 2 && version != 3) throw new IllegalArgumentException("can write GGUF versions 2 and 3, not " + version);
        this.version = version;
        return this;
    }

    /**
     * Whether a file without tensors still ends with zero padding up to the alignment (where its empty
     * data section would start). llama.cpp's own writer pads; gguf-py does not, and neither do we unless
     * asked. Files with tensors always end at an aligned size.
     */
    public GgufWriter padWithoutTensors(boolean pad) {
        this.padWithoutTensors = pad;
        return this;
    }

    /** Adds or replaces a key; the value must be what its declared type says (see {@link GgufValue}). */
    public GgufWriter put(String key, GgufValue value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value of " + key);
        String mismatch = GgufEncoder.mismatch(value.type(), value.value());
        if (mismatch != null) throw new IllegalArgumentException("metadata '" + key + "' of type " + value.type() + ": " + mismatch);
        if (key.equals("general.alignment")) checkAlignment(value);
        metadata.put(key, value);
        return this;
    }

    /** Every key of {@code md}, in its order, with its declared types. */
    public GgufWriter putAll(GgufMetadata md) {
        md.asMap().forEach(this::put);
        return this;
    }

    /** A tensor whose bytes are {@code data} (mapped or heap), placed after the previous one. */
    public GgufWriter tensor(String name, GgmlType type, long[] shape, MemorySegment data) {
        long size = byteSize(name, type, shape);
        if (data.byteSize() != size) {
            throw new IllegalArgumentException("tensor '" + name + "': " + type + " " + Arrays.toString(shape)
                    + " takes " + size + " bytes, the segment has " + data.byteSize());
        }
        return add(name, type, shape, size, AUTO, sink -> sink.write(data));
    }

    /** A tensor whose bytes the callback streams when the file is written, placed after the previous one. */
    public GgufWriter tensor(String name, GgmlType type, long[] shape, TensorSource source) {
        return add(name, type, shape, byteSize(name, type, shape), AUTO, Objects.requireNonNull(source));
    }

    /**
     * A tensor at an explicit offset from the start of the data section (a multiple of the alignment).
     * A null source makes it sparse.
     */
    public GgufWriter tensorAt(long offset, String name, GgmlType type, long[] shape, TensorSource source) {
        if (offset < 0) throw new IllegalArgumentException("tensor '" + name + "': negative offset " + offset);
        return add(name, type, shape, byteSize(name, type, shape), offset, source);
    }

    /** A tensor that is declared but never written: its bytes are a hole in the file and read as zeros. */
    public GgufWriter sparseTensor(String name, GgmlType type, long[] shape) {
        return add(name, type, shape, byteSize(name, type, shape), AUTO, null);
    }

    private GgufWriter add(String name, GgmlType type, long[] shape, long size, long offset, TensorSource source) {
        if (!names.add(name)) throw new IllegalArgumentException("tensor '" + name + "' is declared twice");
        tensors.add(new Pending(name, type, shape.clone(), size, offset, source));
        return this;
    }

    private static long byteSize(String name, GgmlType type, long[] shape) {
        Objects.requireNonNull(name, "tensor name");
        Objects.requireNonNull(type, "type of " + name);
        if (shape.length < 1 || shape.length > GgufParser.MAX_DIMS) {
            throw new IllegalArgumentException("tensor '" + name + "': ggml tensors have 1 to 4 dimensions, not " + shape.length);
        }
        long rows = 1;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] < 0) throw new IllegalArgumentException("tensor '" + name + "': negative dimension " + shape[d]);
            if (d > 0) rows = Math.multiplyExact(rows, shape[d]);
        }
        long rowBytes = type.rowBytes(shape[0]);
        if (rowBytes < 0) {
            throw new IllegalArgumentException("tensor '" + name + "': row length " + shape[0]
                    + " is not a multiple of the " + type + " block size " + type.blockSize);
        }
        return Math.multiplyExact(rowBytes, rows);
    }

    private static long checkAlignment(GgufValue v) {
        long a = v.type().isInteger() ? (Long) v.value() : -1;
        if (a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
            throw new IllegalArgumentException("general.alignment must be an integer power of two up to 2^30, not " + v);
        }
        return a;
    }

    /** The alignment the file will have: {@code general.alignment}, else 32. */
    public long alignment() {
        GgufValue a = metadata.get("general.alignment");
        return a == null ? GgufParser.DEFAULT_ALIGNMENT : checkAlignment(a);
    }

    /**
     * Writes the file atomically: to a temporary file beside {@code target}, renamed over it on success.
     * Returns the file's size.
     */
    public long write(Path target) throws IOException {
        long alignment = alignment();
        List<Placed> layout = layout(alignment);
        ByteBuffer head = encodeHead(layout);
        long dataOffset = GgufParser.alignUp(head.remaining(), alignment);
        long dataEnd = 0;
        for (Placed p : layout) dataEnd = Math.max(dataEnd, p.offset() + p.tensor().byteSize());
        long fileSize = layout.isEmpty() && !padWithoutTensors ? head.remaining() : dataOffset + GgufParser.alignUp(dataEnd, alignment);

        // Beside the target, so the rename stays within one file system. Not Files.createTempFile: its
        // owner-only permissions would carry over to the model file.
        Path temp = target.toAbsolutePath().resolveSibling(
                "." + target.getFileName() + "." + Long.toHexString(System.nanoTime()) + ".partial");
        FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        try {
            try (out) {
                writeFully(out, head);
                List<Placed> byOffset = new ArrayList<>(layout);
                byOffset.sort(Comparator.comparingLong(Placed::offset));
                for (Placed p : byOffset) {
                    moveTo(out, dataOffset + p.offset());
                    if (p.tensor().source() == null) continue; // sparse: the hole is the data
                    writeTensor(out, p.tensor());
                }
                if (out.position() < fileSize) moveTo(out, fileSize);
                if (out.size() < fileSize) {
                    // The file ends in a hole (a sparse tensor last): one zero byte at the very end sets
                    // its length without filling the hole.
                    out.write(ByteBuffer.allocate(1), fileSize - 1);
                }
                out.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return fileSize;
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Offsets relative to the data section: explicit ones as given, the rest after their predecessor. */
    private List<Placed> layout(long alignment) {
        List<Placed> placed = new ArrayList<>(tensors.size());
        long next = 0;
        for (Pending t : tensors) {
            long offset = t.requestedOffset() == AUTO ? next : t.requestedOffset();
            if (offset % alignment != 0) {
                throw new IllegalArgumentException("tensor '" + t.name() + "': offset " + offset
                        + " is not a multiple of the alignment " + alignment);
            }
            placed.add(new Placed(t, offset));
            next = GgufParser.alignUp(Math.addExact(offset, t.byteSize()), alignment);
        }
        List<Placed> byOffset = new ArrayList<>(placed);
        byOffset.sort(Comparator.comparingLong(Placed::offset));
        for (int i = 1; i < byOffset.size(); i++) {
            Placed a = byOffset.get(i - 1), b = byOffset.get(i);
            if (b.offset() < a.offset() + a.tensor().byteSize()) {
                throw new IllegalArgumentException("tensor '" + b.tensor().name() + "' at " + b.offset()
                        + " overlaps tensor '" + a.tensor().name() + "' at " + a.offset());
            }
        }
        return placed;
    }

    private ByteBuffer encodeHead(List<Placed> layout) {
        GgufEncoder e = new GgufEncoder();
        e.u32(GgufParser.MAGIC);
        e.u32(version);
        e.u64(layout.size());
        e.u64(metadata.size());
        metadata.forEach((key, v) -> {
            e.string(key);
            e.u32(v.type().id);
            e.value(v.type(), v.value());
        });
        for (Placed p : layout) {
            Pending t = p.tensor();
            e.string(t.name());
            e.u32(t.shape().length);
            for (long ne : t.shape()) e.u64(ne);
            e.u32(t.type().id);
            e.u64(p.offset());
        }
        return e.bytes();
    }

    private static void writeTensor(FileChannel out, Pending t) throws IOException {
        long start = out.position();
        long[] written = {0};
        t.source().writeTo(bytes -> {
            written[0] += bytes.remaining();
            if (written[0] > t.byteSize()) {
                throw new IllegalStateException("tensor '" + t.name() + "': the source delivered more than its "
                        + t.byteSize() + " bytes");
            }
            writeFully(out, bytes);
        });
        if (written[0] != t.byteSize() || out.position() != start + t.byteSize()) {
            throw new IllegalStateException("tensor '" + t.name() + "': the source delivered " + written[0]
                    + " bytes, the tensor has " + t.byteSize());
        }
    }

    /** Zero-fills a small gap up to {@code position}; a large one becomes a hole. */
    private static void moveTo(FileChannel out, long position) throws IOException {
        long gap = position - out.position();
        if (gap < 0) throw new IllegalStateException("layout error: position " + position + " already passed");
        if (gap <= MAX_WRITTEN_GAP) writeFully(out, ByteBuffer.allocate((int) gap));
        else out.position(position);
    }

    private static void writeFully(FileChannel out, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) out.write(bytes);
    }
}
