package dvp.engine.profile;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a {@link Profiler}'s recording as Chrome trace-event JSON (the "JSON Object Format" that
 * {@code torch.profiler} exports; Perfetto and {@code chrome://tracing} open it).
 *
 * <p>Layout: one process (pid 1) with, per dispatching host thread, a host track ("host: op
 * dispatch") holding steps, user ranges and one complete event ({@code ph: "X"}) per primitive
 * call, and a device track ("device: execution") holding steps and the same calls at their device
 * times. On a backend without a device clock (the CPU) the two coincide, and {@code
 * otherData.device_clock} says so. Every call's {@code args} carry its shapes (one line and as
 * arrays), FLOPs, bytes and step. Timestamps ({@code ts}, {@code dur}) are microseconds from the
 * session's start; events of a track are written in start order, an enclosing event before what
 * it encloses.
 */
public final class ChromeTrace {
    /** Host track of the first dispatching thread; device tracks are host tid + {@link #DEVICE_TID_OFFSET}. */
    public static final int HOST_TID = 1;
    public static final int DEVICE_TID_OFFSET = 1000;
    public static final int PID = 1;

    private ChromeTrace() {}

    /** Writes the trace to {@code file} (parent folders created). */
    public static void write(Profiler p, Map<String, ?> metadata, Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write(render(p, metadata));
        }
    }

    /** One complete event; {@code op} is the call it shows, or null for a step or range. */
    private record Ev(int tid, String name, String cat, double ts, double dur, long step, OpEvent op) {}

    private static final JsonFactory JSON = JsonFactory.builder().build();

    public static String render(Profiler p, Map<String, ?> metadata) {
        long origin = p.originNs();
        Map<String, Integer> hostTids = new LinkedHashMap<>();
        List<Ev> evs = new ArrayList<>();
        for (Span s : p.steps()) {
            int tid = tid(hostTids, s.thread());
            evs.add(new Ev(tid, s.name(), "step", us(s.hostStartNs() - origin), us(s.hostNanos()), s.index(), null));
            evs.add(new Ev(tid + DEVICE_TID_OFFSET, s.name(), "step", us(s.deviceStartNs() - origin), us(s.deviceNanos()), s.index(), null));
        }
        for (Span s : p.ranges()) {
            int tid = tid(hostTids, s.thread());
            evs.add(new Ev(tid, s.name(), "range", us(s.hostStartNs() - origin), us(s.hostNanos()), s.index(), null));
        }
        for (OpEvent e : p.events()) {
            int tid = tid(hostTids, e.thread());
            evs.add(new Ev(tid, e.name(), "op", us(e.hostStartNs() - origin), us(e.hostNanos()), e.step(), e));
            evs.add(new Ev(tid + DEVICE_TID_OFFSET, e.name(), "device_op", us(e.deviceStartNs() - origin), us(e.deviceNanos()), e.step(), e));
        }
        // per track: start order, the enclosing (longer) event first at equal starts
        evs.sort(Comparator.comparingInt(Ev::tid).thenComparingDouble(Ev::ts).thenComparing(Comparator.comparingDouble(Ev::dur).reversed()));

        StringWriter out = new StringWriter(256 + evs.size() * 200);
        try (JsonGenerator g = JSON.createGenerator(out).setPrettyPrinter(new OneEventPerLine())) {
            g.writeStartObject();
            g.writeFieldName("traceEvents");
            g.writeStartArray();
            meta(g, "process_name", 0, "name", "dvp (" + p.backendName() + ")");
            int i = 0;
            for (var t : hostTids.entrySet()) {
                int tid = t.getValue();
                String suffix = i++ == 0 ? "" : " (" + t.getKey() + ")";
                meta(g, "thread_name", tid, "name", "host: op dispatch" + suffix);
                meta(g, "thread_sort_index", tid, "sort_index", tid);
                meta(g, "thread_name", tid + DEVICE_TID_OFFSET, "name", "device: execution" + suffix);
                meta(g, "thread_sort_index", tid + DEVICE_TID_OFFSET, "sort_index", tid + DEVICE_TID_OFFSET);
            }
            for (Ev e : evs) {
                g.writeStartObject();
                g.writeStringField("ph", "X");
                g.writeNumberField("pid", PID);
                g.writeNumberField("tid", e.tid);
                g.writeStringField("name", e.name);
                g.writeStringField("cat", e.cat);
                g.writeFieldName("ts");
                g.writeNumber(num(e.ts));
                g.writeFieldName("dur");
                g.writeNumber(num(e.dur));
                g.writeFieldName("args");
                if (e.op == null) {
                    g.writeStartObject();
                    g.writeNumberField("step", e.step);
                    g.writeEndObject();
                } else {
                    args(g, e.op);
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeStringField("displayTimeUnit", "ms");
            g.writeFieldName("otherData");
            g.writeStartObject();
            Map<String, Object> other = new LinkedHashMap<>();
            other.put("tool", "dvp");
            other.put("backend", p.backendName());
            other.put("device_clock", p.hasDeviceClock()
                    ? "device markers (events on the backend's queue): device-track durations are device times; the offset between "
                      + "host and device tracks is approximate (device times are placed at the host time of each window's first marker)"
                    : "host wall clock: this backend runs each primitive to completion before returning, so the device track "
                      + "coincides with the host dispatch track");
            other.put("time_unit", "ts and dur in microseconds since the profiling session started");
            if (metadata != null) other.putAll(metadata);
            for (var e : other.entrySet()) {
                g.writeFieldName(e.getKey());
                value(g, e.getValue());
            }
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        return out + "\n";
    }

    /** Compact JSON with one trace event per line: the file stays readable and diffable. */
    private static final class OneEventPerLine extends MinimalPrettyPrinter {
        private static boolean events(JsonGenerator g) {
            var c = g.getOutputContext();
            return c.inArray() && c.getParent() != null && c.getParent().getParent() != null && c.getParent().getParent().inRoot();
        }

        @Override
        public void beforeArrayValues(JsonGenerator g) throws IOException { if (events(g)) g.writeRaw('\n'); }

        @Override
        public void writeArrayValueSeparator(JsonGenerator g) throws IOException { g.writeRaw(events(g) ? ",\n" : ","); }

        @Override
        public void writeEndArray(JsonGenerator g, int values) throws IOException { g.writeRaw(events(g) ? "\n]" : "]"); }
    }

    private static int tid(Map<String, Integer> tids, String thread) {
        return tids.computeIfAbsent(thread, t -> HOST_TID + tids.size());
    }

    /** A metadata event whose args hold one field. */
    private static void meta(JsonGenerator g, String name, int tid, String field, Object value) throws IOException {
        g.writeStartObject();
        g.writeStringField("ph", "M");
        g.writeNumberField("pid", PID);
        g.writeNumberField("tid", tid);
        g.writeStringField("name", name);
        g.writeFieldName("args");
        g.writeStartObject();
        g.writeFieldName(field);
        value(g, value);
        g.writeEndObject();
        g.writeEndObject();
    }

    private static void args(JsonGenerator g, OpEvent e) throws IOException {
        g.writeStartObject();
        g.writeStringField("shapes", e.signature());
        String[] names = e.argNames();
        int[][] shapes = e.shapes();
        for (String part : new String[]{"inputs", "outputs"}) {
            g.writeFieldName(part);
            g.writeStartObject();
            for (int i = 0; i < names.length; i++) {
                boolean isOut = i >= e.firstOutput();
                if (shapes[i] == null || isOut != part.equals("outputs")) continue;
                g.writeFieldName(names[i]);
                g.writeArray(shapes[i], 0, shapes[i].length);
            }
            g.writeEndObject();
        }
        if (!e.detail().isEmpty()) g.writeStringField("detail", e.detail());
        g.writeNumberField("flops", e.flops());
        g.writeNumberField("bytes", e.bytes());
        g.writeNumberField("step", e.step());
        g.writeEndObject();
    }

    private static double us(double ns) { return ns / 1000.0; }

    private static String num(double v) { return String.format(Locale.ROOT, "%.3f", v); }

    private static void value(JsonGenerator g, Object v) throws IOException {
        if (v == null) g.writeNull();
        else if (v instanceof Boolean b) g.writeBoolean(b);
        else if (v instanceof Integer || v instanceof Long) g.writeNumber(((Number) v).longValue());
        else if (v instanceof Number n) g.writeNumber(n.toString());
        else g.writeString(v.toString());
    }
}
