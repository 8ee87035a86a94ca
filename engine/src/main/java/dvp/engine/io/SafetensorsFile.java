package dvp.engine.io;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file opened for reading: memory-mapped (zero-copy, any size) and fully validated
 * by {@link SafetensorsHeader} in {@link #open} before any accessor exists. Tensors are copied out
 * ({@link #tensor}, {@link #floats}, {@link #longs}), so they outlive the file; {@link #bytes} slices
 * are valid until {@link #close}.
 *
 * <p>Loading converts where that is what a PyTorch user expects: F16/BF16 (exact) and F64 (rounded)
 * load as F32; integer types other than I32/U8 load as I64.
 *
 * <pre>{@code
 * try (SafetensorsFile f = SafetensorsFile.open(path)) {
 *     Tensor w = f.tensor("fc.weight", backend);   // F32, in the current Scope
 *     String epoch = f.metadata().get("epoch");
 * }
 * }</pre>
 */
public final class SafetensorsFile implements AutoCloseable {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final boolean NATIVE_LE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final SafetensorsHeader header;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, SafetensorsHeader header) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.header = header;
    }

    /** Maps and validates the file; every malformation is one {@link SafetensorsException}. */
    public static SafetensorsFile open(Path path) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no such safetensors file");
        if (Files.isDirectory(path)) throw new SafetensorsException(path, "is a directory, not a file");
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment whole = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            SafetensorsHeader header = SafetensorsHeader.parse(path, whole);
            MemorySegment data = whole.asSlice(header.dataStart()).asReadOnly();
            return new SafetensorsFile(path, arena, data, header);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() { return path; }

    /** Tensor names in the order their data appears in the file. */
    public List<String> names() { return new ArrayList<>(header.byName.keySet()); }

    public List<SafetensorsEntry> entries() { return header.entries; }

    public boolean contains(String name) { return header.byName.containsKey(name); }

    public int size() { return header.entries.size(); }

    /** The {@code __metadata__} map (empty when the file has none), sorted by key. */
    public Map<String, String> metadata() { return header.metadata; }

    public SafetensorsEntry entry(String name) {
        SafetensorsEntry e = header.byName.get(name);
        if (e == null)
            throw new IllegalArgumentException("no tensor " + HeaderJson.quote(name) + " in safetensors file " + path
                    + " (it holds " + header.entries.size() + " tensors)");
        return e;
    }

    /** The tensor's raw little-endian bytes, read-only, valid until {@link #close}. */
    public MemorySegment bytes(String name) {
        SafetensorsEntry e = entry(name);
        checkOpen();
        return data.asSlice(e.begin(), e.byteLength());
    }

    /** Values of a floating tensor (F32, F16/BF16 exactly widened, F64 rounded to nearest). */
    public float[] floats(String name) throws SafetensorsException {
        SafetensorsEntry e = entry(name);
        float[] out = new float[Math.toIntExact(e.numel())];
        convert(e, DType.F32, MemorySegment.ofArray(out));
        return out;
    }

    /** Values of an integer or BOOL tensor as longs (U64 is refused: it may not fit). */
    public long[] longs(String name) throws SafetensorsException {
        SafetensorsEntry e = entry(name);
        long[] out = new long[Math.toIntExact(e.numel())];
        convert(e, DType.I64, MemorySegment.ofArray(out));
        return out;
    }

    /**
     * An engine tensor in the current {@link dvp.engine.Scope}: floating types become F32,
     * I32 and U8 stay, other integers and BOOL become I64.
     */
    public Tensor tensor(String name, Backend backend) throws SafetensorsException {
        SafetensorsEntry e = entry(name);
        SafetensorsDType t = e.dtype();
        DType target = t.isFloating() ? DType.F32
                : t == SafetensorsDType.I32 ? DType.I32
                : t == SafetensorsDType.U8 ? DType.U8
                : DType.I64;
        return tensor(name, backend, target);
    }

    /**
     * An engine tensor of the given dtype: the stored dtype itself (F16/BF16 kept as storage), F32
     * from any floating type, or I64 from any integer type.
     */
    public Tensor tensor(String name, Backend backend, DType target) throws SafetensorsException {
        SafetensorsEntry e = entry(name);
        checkConvertible(e, target);
        Tensor out = Tensor.empty(backend, target, e.intShape());
        if (e.dtype().engineType() == target && NATIVE_LE) {
            checkOpen();
            backend.copyFromHost(data.asSlice(e.begin(), e.byteLength()), out); // the file's bytes are the tensor's
            return out;
        }
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment host = tmp.allocate(Math.max(8, e.numel() * target.byteSize()), 8);
            convert(e, target, host);
            backend.copyFromHost(host, out);
        }
        return out;
    }

    /** Whether entry e can be read as {@code target}: its own dtype, floating → F32, integer → I64. */
    private void checkConvertible(SafetensorsEntry e, DType target) throws SafetensorsException {
        SafetensorsDType from = e.dtype();
        boolean ok = from.engineType() == target
                || (target == DType.F32 && from.isFloating())
                || (target == DType.I64 && from.isInteger());
        if (!ok)
            throw new SafetensorsException(path, "tensor " + HeaderJson.quote(e.name()) + " is " + from
                    + ", which dvp cannot load as " + target);
    }

    /** Writes entry e's values as packed native-order {@code target} elements into dst. */
    private void convert(SafetensorsEntry e, DType target, MemorySegment dst) throws SafetensorsException {
        checkConvertible(e, target);
        checkOpen();
        MemorySegment src = data.asSlice(e.begin(), e.byteLength());
        SafetensorsDType from = e.dtype();
        long n = e.numel();
        if (from.engineType() == target && (NATIVE_LE || target.byteSize() == 1)) {
            MemorySegment.copy(src, 0, dst, 0, e.byteLength());
            return;
        }
        switch (target) {
            case F32 -> {
                for (long i = 0; i < n; i++) dst.setAtIndex(ValueLayout.JAVA_FLOAT, i, readFloat(src, from, i));
            }
            case I64 -> {
                for (long i = 0; i < n; i++) dst.setAtIndex(ValueLayout.JAVA_LONG, i, readLong(src, from, i));
            }
            case I32 -> {
                for (long i = 0; i < n; i++) dst.setAtIndex(ValueLayout.JAVA_INT, i, src.getAtIndex(I32_LE, i));
            }
            case F16, BF16 -> {
                for (long i = 0; i < n; i++) dst.setAtIndex(ValueLayout.JAVA_SHORT, i, src.getAtIndex(I16_LE, i));
            }
            case U8 -> throw new AssertionError("U8 is one byte: always the bulk copy");
        }
    }

    private static float readFloat(MemorySegment src, SafetensorsDType t, long i) {
        return switch (t) {
            case F32 -> src.getAtIndex(F32_LE, i);
            case F16 -> HalfFloats.f16ToFloat(src.getAtIndex(I16_LE, i));
            case BF16 -> HalfFloats.bf16ToFloat(src.getAtIndex(I16_LE, i));
            case F64 -> (float) src.getAtIndex(F64_LE, i);
            default -> throw new AssertionError(t);
        };
    }

    private static long readLong(MemorySegment src, SafetensorsDType t, long i) {
        return switch (t) {
            case BOOL -> src.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
            case U8 -> Byte.toUnsignedLong(src.get(ValueLayout.JAVA_BYTE, i));
            case I8 -> src.get(ValueLayout.JAVA_BYTE, i);
            case I16 -> src.getAtIndex(I16_LE, i);
            case U16 -> Short.toUnsignedLong(src.getAtIndex(I16_LE, i));
            case I32 -> src.getAtIndex(I32_LE, i);
            case U32 -> Integer.toUnsignedLong(src.getAtIndex(I32_LE, i));
            case I64 -> src.getAtIndex(I64_LE, i);
            default -> throw new AssertionError(t);
        };
    }

    private void checkOpen() {
        if (!arena.scope().isAlive()) throw new IllegalStateException("safetensors file " + path + " is closed");
    }

    /** Unmaps the file; slices from {@link #bytes} become invalid, copied tensors stay valid. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
