package dvp.engine.io;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Shape;
import dvp.engine.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Collects tensors and metadata, then writes one safetensors file atomically (a temporary file in
 * the same directory, forced to disk, then renamed over the target: a crash never leaves a
 * half-written checkpoint under the real name).
 *
 * <p>Layout matches the reference writer byte for byte: compact JSON header (tensor entries
 * {@code dtype, shape, data_offsets}; {@code __metadata__} first when present, its keys sorted),
 * padded with spaces to a multiple of 8, tensors ordered by descending dtype size (the reference's
 * dtype order), then by name, so every tensor starts aligned to its element size.
 *
 * <p>Values are copied when {@code put} is called (later changes to a tensor are not seen, and the
 * tensor's scope may close before {@link #write}).
 */
public final class SafetensorsWriter {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int WRITE_CHUNK = 1 << 26;

    private record Pending(String name, SafetensorsDType dtype, long[] shape, MemorySegment bytes) {}

    /** Off-heap copies of the values; freed by the GC with the writer. */
    private final Arena arena = Arena.ofAuto();
    private final Map<String, Pending> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new TreeMap<>();

    /** Adds a {@code __metadata__} entry (both strings; the format allows nothing else). */
    public SafetensorsWriter metadata(String key, String value) {
        if (key == null || value == null) throw new IllegalArgumentException("safetensors metadata: null key or value");
        metadata.put(key, value);
        return this;
    }

    public SafetensorsWriter metadata(Map<String, String> entries) {
        entries.forEach(this::metadata);
        return this;
    }

    /** Adds a tensor stored in its own dtype (any strides: packed to C order). */
    public SafetensorsWriter put(String name, Tensor t) { return put(name, t, SafetensorsDType.of(t.dtype())); }

    /** Adds a tensor stored as {@code as}: its own dtype, or F16/BF16 narrowed (round to nearest even) from F32. */
    public SafetensorsWriter put(String name, Tensor t, SafetensorsDType as) {
        SafetensorsDType own = SafetensorsDType.of(t.dtype());
        boolean narrowing = t.dtype() == DType.F32 && (as == SafetensorsDType.F16 || as == SafetensorsDType.BF16);
        if (as != own && !narrowing)
            throw new IllegalArgumentException("safetensors put " + HeaderJson.quote(name) + ": cannot store " + t.describe()
                    + " as " + as + " (allowed: " + own + (t.dtype() == DType.F32 ? ", F16, BF16" : "") + ")");
        long n = t.numel();
        MemorySegment host = arena.allocate(Math.max(1, n * t.dtype().byteSize()), 8);
        try (Scope s = Scope.open("safetensors-put")) { // the contiguous copy, if one is needed, dies here
            Tensor c = t.isContiguous() ? t : t.copyContiguous();
            t.backend().copyToHost(c, host);
        }
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) host = toLittleEndian(host, t.dtype(), n);
        if (narrowing) {
            MemorySegment half = arena.allocate(Math.max(1, n * 2), 8);
            for (long i = 0; i < n; i++) {
                float f = host.getAtIndex(F32_LE, i);
                half.setAtIndex(I16_LE, i, as == SafetensorsDType.F16 ? HalfFloats.floatToF16(f) : HalfFloats.floatToBf16(f));
            }
            host = half;
        }
        return add(name, as, toLong(t.shape()), host.asSlice(0, n * as.byteSize()));
    }

    public SafetensorsWriter putFloats(String name, float[] values, int... shape) {
        return putFloats(name, values, SafetensorsDType.F32, shape);
    }

    /** F32 values stored as F32, F16 or BF16 (round to nearest even) or F64 (exact). */
    public SafetensorsWriter putFloats(String name, float[] values, SafetensorsDType as, int... shape) {
        return encoded(name, as, values.length, shape, switch (as) {
            case F32 -> (m, i) -> m.setAtIndex(F32_LE, i, values[i]);
            case F16 -> (m, i) -> m.setAtIndex(I16_LE, i, HalfFloats.floatToF16(values[i]));
            case BF16 -> (m, i) -> m.setAtIndex(I16_LE, i, HalfFloats.floatToBf16(values[i]));
            case F64 -> (m, i) -> m.setAtIndex(F64_LE, i, values[i]);
            default -> throw new IllegalArgumentException("safetensors putFloats " + HeaderJson.quote(name)
                    + ": cannot store floats as " + as + " (allowed: F32, F16, BF16, F64)");
        });
    }

    public SafetensorsWriter putDoubles(String name, double[] values, int... shape) {
        return encoded(name, SafetensorsDType.F64, values.length, shape, (m, i) -> m.setAtIndex(F64_LE, i, values[i]));
    }

    public SafetensorsWriter putLongs(String name, long[] values, int... shape) {
        return encoded(name, SafetensorsDType.I64, values.length, shape, (m, i) -> m.setAtIndex(I64_LE, i, values[i]));
    }

    public SafetensorsWriter putInts(String name, int[] values, int... shape) {
        return encoded(name, SafetensorsDType.I32, values.length, shape, (m, i) -> m.setAtIndex(I32_LE, i, values[i]));
    }

    /** Unsigned bytes (U8), e.g. images. */
    public SafetensorsWriter putBytes(String name, byte[] values, int... shape) {
        return encoded(name, SafetensorsDType.U8, values.length, shape, (m, i) -> m.set(ValueLayout.JAVA_BYTE, i, values[i]));
    }

    public SafetensorsWriter putBooleans(String name, boolean[] values, int... shape) {
        return encoded(name, SafetensorsDType.BOOL, values.length, shape, (m, i) -> m.set(ValueLayout.JAVA_BYTE, i, (byte) (values[i] ? 1 : 0)));
    }

    /** Writes element i of a Java array into m as little-endian bytes of the file dtype. */
    private interface Encoder {
        void put(MemorySegment m, int i);
    }

    private SafetensorsWriter encoded(String name, SafetensorsDType dtype, int count, int[] shape, Encoder enc) {
        checkCount(name, count, shape);
        long bytes = (long) count * dtype.byteSize();
        MemorySegment m = arena.allocate(Math.max(1, bytes), 8);
        for (int i = 0; i < count; i++) enc.put(m, i);
        return add(name, dtype, toLong(shape), m.asSlice(0, bytes));
    }

    /** Already-encoded little-endian bytes of any dtype (copied); their length must be numel × dtype size. */
    public SafetensorsWriter putRaw(String name, SafetensorsDType dtype, long[] shape, MemorySegment littleEndianBytes) {
        long expected = dtype.byteSize();
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("safetensors put " + HeaderJson.quote(name) + ": negative dimension in " + Arrays.toString(shape));
            expected = Math.multiplyExact(expected, d);
        }
        if (littleEndianBytes.byteSize() != expected)
            throw new IllegalArgumentException("safetensors put " + HeaderJson.quote(name) + ": " + littleEndianBytes.byteSize()
                    + " bytes for " + dtype + Arrays.toString(shape) + " (needs " + expected + ")");
        MemorySegment m = arena.allocate(Math.max(1, expected), 8);
        MemorySegment.copy(littleEndianBytes, 0, m, 0, expected);
        return add(name, dtype, shape.clone(), m.asSlice(0, expected));
    }

    public int size() { return tensors.size(); }

    // ---- writing ------------------------------------------------------------------------------------

    /** Writes the file atomically, replacing any existing file at {@code path}. */
    public void write(Path path) throws IOException {
        Path abs = path.toAbsolutePath();
        Path dir = abs.getParent();
        if (!Files.isDirectory(dir))
            throw new NoSuchFileException(abs.toString(), null, "cannot write safetensors file: directory " + dir + " does not exist");
        List<Pending> order = layout();
        byte[] header = header(order);
        // CREATE_NEW (unlike Files.createTempFile) honours the umask, so the result gets normal permissions
        Path tmp = dir.resolve("." + abs.getFileName() + "." + Long.toHexString(System.nanoTime() ^ ProcessHandle.current().pid()) + ".tmp");
        FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
        try {
            try (ch) {
                ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
                writeFully(ch, prefix);
                writeFully(ch, ByteBuffer.wrap(header));
                for (Pending p : order) {
                    for (long off = 0; off < p.bytes.byteSize(); off += WRITE_CHUNK)
                        writeFully(ch, p.bytes.asSlice(off, Math.min(WRITE_CHUNK, p.bytes.byteSize() - off)).asByteBuffer());
                }
                ch.force(true);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (java.nio.file.FileSystemException e) {
            Files.deleteIfExists(tmp);
            throw e;
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            // ENOSPC and EIO come without a file name: say which file could not be written
            var named = new java.nio.file.FileSystemException(abs.toString(), null, e.getMessage() != null ? e.getMessage() : e.toString());
            named.initCause(e);
            throw named;
        } catch (RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** The reference writer's order: dtype descending (alignment), then name as UTF-8 bytes. */
    private List<Pending> layout() {
        List<Pending> order = new ArrayList<>(tensors.values());
        order.sort(Comparator.comparing((Pending p) -> p.dtype).reversed()
                .thenComparing((a, b) -> Arrays.compareUnsigned(a.name.getBytes(StandardCharsets.UTF_8), b.name.getBytes(StandardCharsets.UTF_8))));
        return order;
    }

    private byte[] header(List<Pending> order) {
        StringBuilder j = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            j.append("\"__metadata__\":{");
            boolean first = true;
            for (Map.Entry<String, String> kv : metadata.entrySet()) {
                if (!first) j.append(',');
                first = false;
                j.append(HeaderJson.quote(kv.getKey())).append(':').append(HeaderJson.quote(kv.getValue()));
            }
            j.append('}');
        }
        long offset = 0;
        for (Pending p : order) {
            if (j.length() > 1) j.append(',');
            long end = offset + p.bytes.byteSize();
            j.append(HeaderJson.quote(p.name)).append(":{\"dtype\":\"").append(p.dtype.name()).append("\",\"shape\":[");
            for (int i = 0; i < p.shape.length; i++) j.append(i == 0 ? "" : ",").append(p.shape[i]);
            j.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
            offset = end;
        }
        j.append('}');
        byte[] utf8 = j.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (utf8.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(utf8, padded);
        Arrays.fill(out, utf8.length, padded, (byte) ' ');
        return out;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private SafetensorsWriter add(String name, SafetensorsDType dtype, long[] shape, MemorySegment bytes) {
        if (name == null) throw new IllegalArgumentException("safetensors put: null tensor name");
        if (name.equals("__metadata__")) throw new IllegalArgumentException("safetensors put: \"__metadata__\" is reserved and cannot name a tensor");
        if (tensors.containsKey(name)) throw new IllegalArgumentException("safetensors put: duplicate tensor name " + HeaderJson.quote(name));
        tensors.put(name, new Pending(name, dtype, shape, bytes));
        return this;
    }

    private static void checkCount(String name, int count, int[] shape) {
        long n = Shape.numel(shape);
        if (n != count)
            throw new IllegalArgumentException("safetensors put " + HeaderJson.quote(name) + ": " + count + " values for shape " + Shape.str(shape));
    }

    private static long[] toLong(int[] shape) {
        long[] s = new long[shape.length];
        for (int i = 0; i < s.length; i++) s[i] = shape[i];
        return s;
    }

    /** Byte-swaps native big-endian element data into little-endian (never taken on x86-64/aarch64). */
    private MemorySegment toLittleEndian(MemorySegment host, DType dtype, long n) {
        MemorySegment le = arena.allocate(Math.max(1, n * dtype.byteSize()), 8);
        for (long i = 0; i < n; i++) {
            switch (dtype.byteSize()) {
                case 1 -> le.set(ValueLayout.JAVA_BYTE, i, host.get(ValueLayout.JAVA_BYTE, i));
                case 2 -> le.setAtIndex(I16_LE, i, host.getAtIndex(ValueLayout.JAVA_SHORT, i));
                case 4 -> le.setAtIndex(I32_LE, i, host.getAtIndex(ValueLayout.JAVA_INT, i));
                case 8 -> le.setAtIndex(I64_LE, i, host.getAtIndex(ValueLayout.JAVA_LONG, i));
                default -> throw new AssertionError(dtype);
            }
        }
        return le;
    }
}
