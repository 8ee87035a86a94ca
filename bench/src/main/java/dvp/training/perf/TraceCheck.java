package dvp.training.perf;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.training.run.Json;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a trace written by {@code dvp profile --trace} without a viewer: Chrome trace-event
 * structure (phases, required fields, timestamps non-decreasing per track), a host dispatch track
 * and a device execution track holding the same calls with shapes, FLOPs and bytes, and — for a
 * GPU profile ({@code --device-clock}) — device times from device markers, all positive.
 * Used by the tests and, on a GPU machine, as {@code java -cp dvp.jar dvp.training.perf.TraceCheck
 * [--device-clock] TRACE.json...} (exit 1 when a file has a problem).
 */
public final class TraceCheck {
    private TraceCheck() {}

    public record Report(Path file, int hostOps, int deviceOps, int steps, List<String> problems) {
        public boolean ok() { return problems.isEmpty(); }

        @Override
        public String toString() {
            return file + ": " + (ok() ? "OK" : "PROBLEMS") + " (" + hostOps + " host ops, " + deviceOps + " device ops, " + steps
                    + " step events)" + (ok() ? "" : "\n  " + String.join("\n  ", problems));
        }
    }

    public static Report check(Path file, boolean requireDeviceClock) throws IOException {
        List<String> problems = new ArrayList<>();
        JsonNode root = Json.readFile(file);
        JsonNode events = root.path("traceEvents");
        if (!events.isArray()) return new Report(file, 0, 0, 0, List.of("no traceEvents array"));
        Map<Long, String> threadNames = new HashMap<>();
        Map<Long, Double> lastTs = new HashMap<>();
        int host = 0, device = 0, steps = 0;
        for (JsonNode e : events) {
            String ph = e.path("ph").asText("");
            if (!e.has("pid") || !e.has("tid") || !e.path("name").isTextual() || ph.isEmpty()) {
                problems.add("event without ph/pid/tid/name: " + e);
                continue;
            }
            long tid = e.get("tid").asLong();
            if (ph.equals("M")) {
                if (e.get("name").asText().equals("thread_name")) threadNames.put(tid, e.path("args").path("name").asText());
                continue;
            }
            if (!ph.equals("X")) {
                problems.add("unexpected phase " + ph + ": " + e);
                continue;
            }
            if (!e.path("ts").isNumber() || !e.path("dur").isNumber() || !e.path("cat").isTextual()) {
                problems.add("complete event without ts/dur/cat: " + e);
                continue;
            }
            double ts = e.get("ts").asDouble(), dur = e.get("dur").asDouble();
            if (ts < 0 || dur < 0) problems.add("negative time: " + e);
            if (ts < lastTs.getOrDefault(tid, Double.NEGATIVE_INFINITY)) problems.add("timestamps go back on track " + tid + " at " + e);
            lastTs.put(tid, ts);
            String cat = e.get("cat").asText();
            if (cat.equals("op") || cat.equals("device_op")) {
                JsonNode args = e.path("args");
                for (String k : List.of("shapes", "inputs", "outputs", "flops", "bytes", "step"))
                    if (!args.has(k)) problems.add(cat + " event without args." + k + ": " + e);
                if (cat.equals("op")) host++;
                else {
                    device++;
                    if (requireDeviceClock && dur <= 0) problems.add("device op without a device duration: " + e);
                }
            }
            if (cat.equals("step")) steps++;
        }
        if (!threadNames.containsValue("host: op dispatch")) problems.add("no 'host: op dispatch' track");
        if (!threadNames.containsValue("device: execution")) problems.add("no 'device: execution' track");
        if (host == 0) problems.add("no op events");
        if (host != device) problems.add(host + " host op events but " + device + " device op events");
        String clock = root.path("otherData").path("device_clock").asText("");
        if (clock.isEmpty()) problems.add("otherData.device_clock missing (where device times come from)");
        else if (requireDeviceClock && !clock.startsWith("device markers")) problems.add("device times are not from device markers: " + clock);
        return new Report(file, host, device, steps, problems);
    }

    public static void main(String[] args) throws IOException {
        boolean deviceClock = false;
        int bad = 0;
        List<Path> files = new ArrayList<>();
        for (String a : args) {
            if (a.equals("--device-clock")) deviceClock = true;
            else files.add(Path.of(a));
        }
        if (files.isEmpty()) {
            System.err.println("usage: TraceCheck [--device-clock] TRACE.json...");
            System.exit(2);
        }
        for (Path f : files) {
            Report r = check(f, deviceClock);
            System.out.println(r);
            if (!r.ok()) bad++;
        }
        System.exit(bad == 0 ? 0 : 1);
    }
}
