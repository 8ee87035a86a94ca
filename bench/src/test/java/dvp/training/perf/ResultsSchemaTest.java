package dvp.training.perf;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.training.run.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The results file against docs/results-schema.md, and how bad files are reported. */
class ResultsSchemaTest {
    /** Every field the schema document marks required, with its JSON type. */
    static void assertValid(JsonNode r) {
        assertEquals(Results.SCHEMA, r.get("schema").asText());
        assertTrue(List.of("bench", "profile").contains(r.get("kind").asText()));
        assertTrue(r.get("created").asText().matches("\\d{4}-\\d\\d-\\d\\dT.*Z"), r.get("created").asText());
        for (String f : List.of("name", "version", "git_commit")) assertTrue(r.get("tool").get(f).isTextual(), "tool." + f);
        assertTrue(r.get("tool").get("git_dirty").isBoolean());
        for (String f : List.of("host", "os", "cpu", "jdk", "jdk_vendor")) assertTrue(r.get("machine").get(f).isTextual(), "machine." + f);
        for (String f : List.of("logical_cores", "cpu_threads", "memory_bytes")) assertTrue(r.get("machine").get(f).isIntegralNumber(), "machine." + f);
        for (String f : List.of("backend", "name", "timing")) assertTrue(r.get("device").get(f).isTextual(), "device." + f);
        assertTrue(r.get("device").has("driver"), "device.driver (null on the CPU)");
        // written by dvp; files of other writers (gpu_baselines.py) and older ones may lack it: not simulated
        if (r.get("tool").get("name").asText().equals("dvp")) assertTrue(r.get("device").get("simulated").isBoolean(), "device.simulated");
        assertTrue(r.get("device").get("facts").isObject());
        // at least one scenario, unless "skipped" says why none was measured (a baseline mode that cannot run here)
        assertTrue(r.get("scenarios").isArray() && (!r.get("scenarios").isEmpty() || r.path("skipped").size() > 0), "scenarios");
        for (JsonNode k : r.path("skipped")) assertTrue(k.get("scenario").isTextual() && k.get("reason").isTextual(), "skipped: " + k);
        for (JsonNode sc : r.get("scenarios")) {
            assertTrue(sc.get("name").isTextual());
            assertTrue(sc.get("settings").isObject());
            assertTrue(sc.get("run").isObject());
            assertTrue(sc.get("figures").isArray() && !sc.get("figures").isEmpty());
            for (JsonNode f : sc.get("figures")) {
                for (String k : List.of("name", "unit", "better")) assertTrue(f.get(k).isTextual(), "figure." + k + " in " + f);
                assertTrue(List.of("lower", "higher").contains(f.get("better").asText()));
                int n = f.get("samples").asInt();
                assertTrue(n >= 1);
                assertEquals(n, f.get("values").size(), "one value per sample");
                for (String k : List.of("median", "q1", "q3", "min", "max", "mean", "stdev", "spread_pct"))
                    assertTrue(f.get(k).isNumber(), "figure." + k + " in " + f);
                assertTrue(f.get("min").asDouble() <= f.get("q1").asDouble() && f.get("q1").asDouble() <= f.get("median").asDouble()
                        && f.get("median").asDouble() <= f.get("q3").asDouble() && f.get("q3").asDouble() <= f.get("max").asDouble(), f.toString());
            }
            if (r.get("kind").asText().equals("profile")) {
                for (JsonNode op : sc.get("ops")) {
                    for (String k : List.of("op", "shapes")) assertTrue(op.get(k).isTextual());
                    for (String k : List.of("calls", "total_bytes", "total_flops")) assertTrue(op.get(k).isIntegralNumber(), k);
                    for (String k : List.of("total_ms", "mean_us", "pct_of_step", "bytes_per_call", "flops_per_call", "gbps", "gflops"))
                        assertTrue(op.get(k).isNumber(), k);
                }
            }
        }
        if (r.has("ceilings")) for (String k : List.of("copy_gbps", "matmul_gflops")) assertTrue(r.get("ceilings").get(k).isNumber());
    }

    @Test
    void statsAreNumpyLikeQuantiles() {
        Stats s = Stats.of(4, 1, 3, 2);
        assertEquals(2.5, s.median());
        assertEquals(1.75, s.q1());
        assertEquals(3.25, s.q3());
        assertEquals(1, s.min());
        assertEquals(4, s.max());
        assertEquals(2.5, s.mean());
        assertEquals(Math.sqrt(5.0 / 3), s.stdev(), 1e-12);
        assertEquals(60, s.spreadPct(), 1e-9);
        assertEquals(7, Stats.of(7).median());
        assertThrows(IllegalArgumentException.class, Stats::of);
    }

    @Test
    void aFileWithoutDeviceSimulatedIsReadAsNotSimulated(@TempDir Path dir) throws Exception {
        // as written before the field existed (and by bench/pytorch/gpu_baselines.py)
        Path old = dir.resolve("old.json"), sim = dir.resolve("sim.json");
        String body = "\"scenarios\":[{\"name\":\"gemm\",\"figures\":[{\"name\":\"t/time\",\"unit\":\"ms\",\"better\":\"lower\",\"median\":2}]}]";
        Files.writeString(old, "{\"schema\":\"dvp-results/1\",\"device\":{\"backend\":\"cuda\",\"name\":\"NVIDIA H100\"}," + body + "}");
        Files.writeString(sim, "{\"schema\":\"dvp-results/1\",\"device\":{\"backend\":\"cuda\",\"name\":\"sim\",\"simulated\":true}," + body + "}");
        Results.Read o = Results.read(old), s = Results.read(sim);
        assertFalse(o.simulated());
        assertFalse(o.figures().getFirst().simulated());
        assertEquals("NVIDIA H100", o.device());
        assertTrue(s.simulated());
        assertTrue(s.figures().getFirst().simulated());
        // compare between the two: the ratio is shown, but as what it is
        Compare.Row row = Compare.compare(o, s).getFirst();
        assertEquals(1.0, row.ratio());
        assertEquals(RunEnvironment.NOT_A_SPEED + " (B)", row.verdict());
        assertEquals("within spread", Compare.compare(o, o).getFirst().verdict());
    }

    @Test
    void badResultsFilesNameTheFileAndTheProblem(@TempDir Path dir) throws Exception {
        assertThrows(NoSuchFileException.class, () -> Results.read(dir.resolve("missing.json")));
        Map<String, String> cases = Map.of(
                "not json {", "not valid JSON",
                "[1,2]", "not a dvp results file (expected a JSON object)",
                "{\"schema\":\"other/1\"}", "schema is 'other/1'",
                "{\"schema\":\"dvp-results/9\",\"scenarios\":[]}", "results schema dvp-results/9 is not supported",
                "{\"schema\":\"dvp-results/1\"}", "'scenarios' must be an array",
                "{\"schema\":\"dvp-results/1\",\"scenarios\":[{\"name\":\"x\",\"figures\":[{\"name\":\"t\",\"unit\":\"ms\"}]}]}",
                "figure 't' of 'x' has no numeric 'median'",
                "{\"schema\":\"dvp-results/1\",\"scenarios\":[{\"figures\":[]}]}", "a scenario has no 'name'");
        int i = 0;
        for (var c : cases.entrySet()) {
            Path f = dir.resolve("bad" + i++ + ".json");
            Files.writeString(f, c.getKey());
            BadInputException e = assertThrows(BadInputException.class, () -> Results.read(f), c.getKey());
            assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
            assertTrue(e.getMessage().contains(c.getValue()), e.getMessage() + " should say " + c.getValue());
        }
    }
}
