package dvp.engine.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Parses and validates a whole safetensors file image before anything trusts it. Checks, in this
 * order (the first failure is the one reported): the 8-byte length prefix; the header length
 * against the 100,000,000-byte limit and the file size; UTF-8; the opening '{'; strict JSON
 * (duplicate keys included); {@code __metadata__} a string→string map; each entry's fields,
 * dtype, shape (non-negative, no overflow) and data_offsets (in range, end ≥ begin, length =
 * numel × dtype size); and finally that the entries tile the data section exactly — no overlap,
 * no gap, no trailing bytes (which is what blocks polyglot files).
 */
final class SafetensorsHeader {
    static final long MAX_HEADER_BYTES = 100_000_000L;
    private static final String METADATA_KEY = "__metadata__";

    final long headerLength;
    /** Entries in data order (ascending begin). */
    final List<SafetensorsEntry> entries;
    final Map<String, SafetensorsEntry> byName;
    final Map<String, String> metadata;

    private SafetensorsHeader(long headerLength, List<SafetensorsEntry> entries, Map<String, String> metadata) {
        this.headerLength = headerLength;
        this.entries = Collections.unmodifiableList(entries);
        Map<String, SafetensorsEntry> m = new LinkedHashMap<>();
        for (SafetensorsEntry e : entries) m.put(e.name(), e);
        this.byName = Collections.unmodifiableMap(m);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /** Offset of the data section in the file. */
    long dataStart() { return 8 + headerLength; }

    static SafetensorsHeader parse(Path file, MemorySegment whole) throws SafetensorsException {
        long fileSize = whole.byteSize();
        if (fileSize < 8)
            throw new SafetensorsException(file, "file is " + fileSize + " bytes long, too short for the 8-byte header length");
        long n = whole.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 0 || n > MAX_HEADER_BYTES)
            throw new SafetensorsException(file, "header length " + Long.toUnsignedString(n)
                    + " bytes exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        if (8 + n > fileSize)
            throw new SafetensorsException(file, "header length " + n + " bytes runs past the end of the file ("
                    + fileSize + " bytes, so at most " + (fileSize - 8) + " header bytes)");
        byte[] raw = whole.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(file, "header is not valid UTF-8");
        }
        if (text.isEmpty() || text.charAt(0) != '{')
            throw new SafetensorsException(file, "header does not start with '{' (it starts with "
                    + (text.isEmpty() ? "nothing: the header is empty" : describe(text.charAt(0))) + ")");
        Object root;
        try {
            root = HeaderJson.parse(text);
        } catch (HeaderJson.ParseException e) {
            throw new SafetensorsException(file, "header is not valid JSON: " + e.getMessage());
        }
        @SuppressWarnings("unchecked") Map<String, Object> top = (Map<String, Object>) root; // starts with '{'

        long dataLength = fileSize - 8 - n;
        Map<String, String> metadata = new TreeMap<>();
        List<SafetensorsEntry> entries = new ArrayList<>();
        for (Map.Entry<String, Object> kv : top.entrySet()) {
            if (kv.getKey().equals(METADATA_KEY)) metadata = metadata(file, kv.getValue());
            else entries.add(entry(file, kv.getKey(), kv.getValue(), dataLength));
        }
        checkTiling(file, entries, dataLength);
        return new SafetensorsHeader(n, entries, metadata);
    }

    private static Map<String, String> metadata(Path file, Object v) throws SafetensorsException {
        if (!(v instanceof Map<?, ?> m))
            throw new SafetensorsException(file, "__metadata__ must be an object mapping strings to strings, but it is " + HeaderJson.typeName(v));
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<?, ?> kv : m.entrySet()) {
            if (!(kv.getValue() instanceof String s))
                throw new SafetensorsException(file, "__metadata__ must map strings to strings, but the value of "
                        + HeaderJson.quote((String) kv.getKey()) + " is " + HeaderJson.typeName(kv.getValue()));
            out.put((String) kv.getKey(), s);
        }
        return out;
    }

    private static SafetensorsEntry entry(Path file, String name, Object v, long dataLength) throws SafetensorsException {
        String what = "tensor " + HeaderJson.quote(name) + ": ";
        if (!(v instanceof Map<?, ?> m))
            throw new SafetensorsException(file, what + "entry must be an object with dtype, shape and data_offsets, but it is " + HeaderJson.typeName(v));
        for (Object key : m.keySet())
            if (!key.equals("dtype") && !key.equals("shape") && !key.equals("data_offsets"))
                throw new SafetensorsException(file, what + "unexpected field " + HeaderJson.quote((String) key)
                        + " (allowed: dtype, shape, data_offsets)");
        for (String key : List.of("dtype", "shape", "data_offsets"))
            if (!m.containsKey(key)) throw new SafetensorsException(file, what + "missing field \"" + key + "\"");

        if (!(m.get("dtype") instanceof String dtypeName))
            throw new SafetensorsException(file, what + "dtype must be a string, but it is " + HeaderJson.typeName(m.get("dtype")));
        SafetensorsDType dtype = SafetensorsDType.parse(dtypeName);
        if (dtype == null) {
            if (SafetensorsDType.SUB_BYTE_OR_EXOTIC.contains(dtypeName))
                throw new SafetensorsException(file, what + "dtype " + HeaderJson.quote(dtypeName) + " is not supported by dvp");
            throw new SafetensorsException(file, what + "unknown dtype " + HeaderJson.quote(dtypeName));
        }

        long[] shape = longs(file, what + "shape", m.get("shape"), -1);
        long[] offsets = longs(file, what + "data_offsets", m.get("data_offsets"), 2);
        long begin = offsets[0], end = offsets[1];
        String offs = "data_offsets [" + begin + ", " + end + "]";
        if (end < begin) throw new SafetensorsException(file, what + offs + " end before begin");
        if (end > dataLength)
            throw new SafetensorsException(file, what + offs + " out of range: the data section has " + dataLength + " bytes");
        long bytes = dtype.byteSize();
        try {
            for (long d : shape) bytes = Math.multiplyExact(bytes, d);
        } catch (ArithmeticException e) {
            throw new SafetensorsException(file, what + "shape " + Arrays.toString(shape) + " of " + dtype + " overflows a 64-bit byte count");
        }
        if (bytes != end - begin)
            throw new SafetensorsException(file, what + "shape " + Arrays.toString(shape) + " of " + dtype + " needs " + bytes
                    + " bytes but " + offs + " cover " + (end - begin));
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    /** A JSON array of non-negative integers that fit a long; exactly {@code count} of them unless count < 0. */
    private static long[] longs(Path file, String what, Object v, int count) throws SafetensorsException {
        String expected = count < 0 ? "a list of non-negative integers" : "a list of " + count + " non-negative integers";
        if (!(v instanceof List<?> list)) throw new SafetensorsException(file, what + " must be " + expected + ", but it is " + HeaderJson.typeName(v));
        if (count >= 0 && list.size() != count)
            throw new SafetensorsException(file, what + " must be " + expected + ", but it has " + list.size());
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object x = list.get(i);
            if (x instanceof Long l) {
                if (l < 0) throw new SafetensorsException(file, what + " has a negative value " + l + " (must be " + expected + ")");
                out[i] = l;
            } else if (x instanceof BigInteger b) {
                throw new SafetensorsException(file, what + " value " + b + " is too large");
            } else {
                throw new SafetensorsException(file, what + " must be " + expected + ", but element " + i + " is "
                        + (x instanceof Number ? "the non-integer " + x : HeaderJson.typeName(x)));
            }
        }
        return out;
    }

    /** The entries must cover [0, dataLength) exactly once; sorts entries into data order. */
    private static void checkTiling(Path file, List<SafetensorsEntry> entries, long dataLength) throws SafetensorsException {
        entries.sort(Comparator.comparingLong(SafetensorsEntry::begin).thenComparingLong(SafetensorsEntry::end));
        long covered = 0;
        SafetensorsEntry prev = null;
        for (SafetensorsEntry e : entries) {
            if (e.begin() < covered)
                throw new SafetensorsException(file, "tensors " + HeaderJson.quote(prev.name()) + " [" + prev.begin() + ", " + prev.end()
                        + "] and " + HeaderJson.quote(e.name()) + " [" + e.begin() + ", " + e.end() + "] overlap");
            if (e.begin() > covered)
                throw new SafetensorsException(file, "data bytes [" + covered + ", " + e.begin() + ") before tensor "
                        + HeaderJson.quote(e.name()) + " belong to no tensor (the data must be contiguous, without gaps)");
            covered = e.end();
            prev = e;
        }
        if (covered != dataLength)
            throw new SafetensorsException(file, "data bytes [" + covered + ", " + dataLength
                    + ") after the last tensor belong to no tensor (the data must end where the last tensor ends)");
    }

    private static String describe(char c) {
        return c < 0x20 || c > 0x7e ? String.format("U+%04X", (int) c) : "'" + c + "'";
    }
}
