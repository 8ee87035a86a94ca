package dvp.engine.profile;

import dvp.engine.io.Json;

import java.io.IOException;
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

    private record Ev(int tid, String name, String cat, double ts, double dur, String args) {}

    public static String render(Profiler p, Map<String, ?> metadata) {
        long origin = p.originNs();
        Map<String, Integer> hostTids = new LinkedHashMap<>();
        List<Ev> evs = new ArrayList<>();
        for (Span s : p.steps()) {
            int tid = tid(hostTids, s.thread());
            String args = "{\"step\":" + s.index() + "}";
            evs.add(new Ev(tid, s.name(), "step", us(s.hostStartNs() - origin), us(s.hostNanos()), args));
            evs.add(new Ev(tid + DEVICE_TID_OFFSET, s.name(), "step", us(s.deviceStartNs() - origin), us(s.deviceNanos()), args));
        }
        for (Span s : p.ranges()) {
            int tid = tid(hostTids, s.thread());
            evs.add(new Ev(tid, s.name(), "range", us(s.hostStartNs() - origin), us(s.hostNanos()), "{\"step\":" + s.index() + "}"));
        }
        for (OpEvent e : p.events()) {
            int tid = tid(hostTids, e.thread());
            String args = args(e);
            evs.add(new Ev(tid, e.name(), "op", us(e.hostStartNs() - origin), us(e.hostNanos()), args));
            evs.add(new Ev(tid + DEVICE_TID_OFFSET, e.name(), "device_op", us(e.deviceStartNs() - origin), us(e.deviceNanos()), args));
        }
        // per track: start order, the enclosing (longer) event first at equal starts
        evs.sort(Comparator.comparingInt(Ev::tid).thenComparingDouble(Ev::ts).thenComparing(Comparator.comparingDouble(Ev::dur).reversed()));

        StringBuilder b = new StringBuilder(256 + evs.size() * 200);
        b.append("{\"traceEvents\":[\n");
        boolean first = true;
        first = meta(b, first, "process_name", 0, "{\"name\":" + Json.quote("dvp (" + p.backendName() + ")") + "}");
        int i = 0;
        for (var t : hostTids.entrySet()) {
            int tid = t.getValue();
            String suffix = i++ == 0 ? "" : " (" + t.getKey() + ")";
            first = meta(b, first, "thread_name", tid, "{\"name\":" + Json.quote("host: op dispatch" + suffix) + "}");
            first = meta(b, first, "thread_sort_index", tid, "{\"sort_index\":" + tid + "}");
            first = meta(b, first, "thread_name", tid + DEVICE_TID_OFFSET, "{\"name\":" + Json.quote("device: execution" + suffix) + "}");
            first = meta(b, first, "thread_sort_index", tid + DEVICE_TID_OFFSET, "{\"sort_index\":" + (tid + DEVICE_TID_OFFSET) + "}");
        }
        for (Ev e : evs) {
            b.append(first ? "" : ",\n");
            first = false;
            b.append("{\"ph\":\"X\",\"pid\":").append(PID).append(",\"tid\":").append(e.tid)
                    .append(",\"name\":").append(Json.quote(e.name)).append(",\"cat\":\"").append(e.cat)
                    .append("\",\"ts\":").append(num(e.ts)).append(",\"dur\":").append(num(e.dur))
                    .append(",\"args\":").append(e.args).append('}');
        }
        b.append("\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{");
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
        boolean f2 = true;
        for (var e : other.entrySet()) {
            b.append(f2 ? "" : ",").append(Json.quote(e.getKey())).append(':').append(value(e.getValue()));
            f2 = false;
        }
        b.append("}}\n");
        return b.toString();
    }

    private static int tid(Map<String, Integer> tids, String thread) {
        return tids.computeIfAbsent(thread, t -> HOST_TID + tids.size());
    }

    private static boolean meta(StringBuilder b, boolean first, String name, int tid, String args) {
        b.append(first ? "" : ",\n");
        b.append("{\"ph\":\"M\",\"pid\":").append(PID).append(",\"tid\":").append(tid).append(",\"name\":\"").append(name)
                .append("\",\"args\":").append(args).append('}');
        return false;
    }

    private static String args(OpEvent e) {
        StringBuilder b = new StringBuilder("{\"shapes\":").append(Json.quote(e.signature()));
        String[] names = e.argNames();
        int[][] shapes = e.shapes();
        for (String part : new String[]{"inputs", "outputs"}) {
            b.append(",\"").append(part).append("\":{");
            boolean f = true;
            for (int i = 0; i < names.length; i++) {
                boolean isOut = i >= e.firstOutput();
                if (shapes[i] == null || isOut != part.equals("outputs")) continue;
                b.append(f ? "" : ",").append(Json.quote(names[i])).append(':');
                StringBuilder s = new StringBuilder();
                OpEvent.appendShape(s, shapes[i]);
                b.append(s);
                f = false;
            }
            b.append('}');
        }
        if (!e.detail().isEmpty()) b.append(",\"detail\":").append(Json.quote(e.detail()));
        b.append(",\"flops\":").append(e.flops()).append(",\"bytes\":").append(e.bytes()).append(",\"step\":").append(e.step()).append('}');
        return b.toString();
    }

    private static double us(double ns) { return ns / 1000.0; }

    private static String num(double v) { return String.format(Locale.ROOT, "%.3f", v); }

    private static String value(Object v) {
        if (v == null) return "null";
        if (v instanceof Number || v instanceof Boolean) return v.toString();
        return Json.quote(v.toString());
    }
}
