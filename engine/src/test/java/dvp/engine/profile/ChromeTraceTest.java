package dvp.engine.profile;

import dvp.engine.Scope;
import dvp.engine.io.HeaderJson;
import dvp.engine.spi.Backends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The trace file parses back as Chrome trace-event JSON with the promised tracks and fields. */
class ChromeTraceTest {
    @Test
    @SuppressWarnings("unchecked")
    void traceParsesBackWithHostAndDeviceTracksAndOrderedTimestamps(@TempDir Path dir) throws Exception {
        ProfilingBackend pb = ProfilingBackend.wrap(Backends.cpu());
        Path file = dir.resolve("sub/trace.json");
        int recorded;
        try (Scope s = Scope.open(); var use = Backends.use(pb)) {
            MiniNet net = new MiniNet(pb, 5);
            try (Profiler p = pb.start(Profiler.Options.record())) {
                for (int i = 0; i < 2; i++) {
                    p.stepBegin(i);
                    try (var r = p.range("forward+backward+sgd")) {
                        net.step();
                    }
                    p.stepEnd();
                }
                recorded = p.events().size();
                ChromeTrace.write(p, Map.of("scenario", "mini \"net\""), file);
            }
        }
        Map<String, Object> root = (Map<String, Object>) HeaderJson.parse(Files.readString(file));
        List<String> lines = Files.readAllLines(file);
        assertEquals("{\"traceEvents\":[", lines.getFirst());
        for (String l : lines.subList(1, lines.size() - 1)) assertTrue(l.matches("\\{\"ph\":\"[MX]\".*\\},?"), "one event per line: " + l);
        List<Object> events = (List<Object>) root.get("traceEvents");
        Map<String, Object> other = (Map<String, Object>) root.get("otherData");
        assertEquals("cpu", other.get("backend"));
        assertEquals("mini \"net\"", other.get("scenario"));
        assertTrue(((String) other.get("device_clock")).contains("coincides"), "CPU: the metadata says the tracks coincide");

        Map<Long, String> threadNames = new HashMap<>();
        Map<Long, Double> lastTs = new HashMap<>();
        Map<Long, Integer> opsPerTid = new HashMap<>();
        Set<String> phases = new HashSet<>();
        int steps = 0;
        for (Object o : events) {
            Map<String, Object> e = (Map<String, Object>) o;
            for (String k : List.of("ph", "pid", "tid", "name")) assertTrue(e.containsKey(k), "event without " + k + ": " + e);
            String ph = (String) e.get("ph");
            phases.add(ph);
            long tid = ((Number) e.get("tid")).longValue();
            if (ph.equals("M")) {
                if (e.get("name").equals("thread_name")) threadNames.put(tid, (String) ((Map<String, Object>) e.get("args")).get("name"));
                continue;
            }
            assertEquals("X", ph);
            double ts = ((Number) e.get("ts")).doubleValue(), dur = ((Number) e.get("dur")).doubleValue();
            assertTrue(ts >= 0 && dur >= 0, "negative time in " + e);
            assertTrue(ts >= lastTs.getOrDefault(tid, 0.0), "timestamps go back on track " + tid + " at " + e);
            lastTs.put(tid, ts);
            assertInstanceOf(Map.class, e.get("args"));
            String cat = (String) e.get("cat");
            if (cat.equals("op") || cat.equals("device_op")) {
                Map<String, Object> args = (Map<String, Object>) e.get("args");
                for (String k : List.of("shapes", "inputs", "outputs", "flops", "bytes", "step"))
                    assertTrue(args.containsKey(k), "op args without " + k + ": " + e);
                opsPerTid.merge(tid, 1, Integer::sum);
            }
            if (cat.equals("step")) steps++;
        }
        assertEquals(Set.of("M", "X"), phases);
        long host = ChromeTrace.HOST_TID, device = ChromeTrace.HOST_TID + ChromeTrace.DEVICE_TID_OFFSET;
        assertEquals("host: op dispatch", threadNames.get(host));
        assertEquals("device: execution", threadNames.get(device));
        assertEquals(recorded, opsPerTid.get(host), "every call on the host track");
        assertEquals(recorded, opsPerTid.get(device), "every call on the device track");
        assertEquals(4, steps, "2 steps on each of the two tracks");
    }
}
