package dvp.training.perf;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.engine.spi.Backends;
import dvp.training.run.BadInputException;
import dvp.training.run.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchRunTest {
    @Test
    void benchWritesOneFigureSetPerWorkloadAndComparesWithItself(@TempDir Path dir) throws Exception {
        StringWriter out = new StringWriter();
        var s = new BenchRun.Settings(List.of("gemm", "resnet18-train"), PerfTesting.tinyResNet().withBatch(2), new Warmup.Policy(1, 5, 0), 3,
                dir.resolve("a.json"), PerfTesting.fakeCeilings(dir, Backends.cpu()), false, "dvp bench test");
        // --size only concerns gemm; the ResNet ignores it
        s = new BenchRun.Settings(s.scenarios(), new ScenarioOptions(2, 32, 0.25, null, null, "64,32,16", null, 0), new Warmup.Policy(1, 5, 0.2), 3, s.json(),
                s.ceilingsFile(), false, s.commandLine());
        BenchRun.run(Backends.cpu(), s, new PrintWriter(out, true), new PrintWriter(new StringWriter(), true));
        JsonNode r = Json.readFile(dir.resolve("a.json"));
        ResultsSchemaTest.assertValid(r);
        assertEquals("bench", r.get("kind").asText());
        Set<String> names = new HashSet<>();
        for (JsonNode sc : r.get("scenarios")) for (JsonNode f : sc.get("figures")) names.add(sc.get("name").asText() + ": " + f.get("name").asText());
        assertTrue(names.containsAll(List.of("gemm: matmul M=64 N=32 K=16/time", "gemm: matmul M=64 N=32 K=16/compute",
                "gemm: matmul M=64 N=32 K=16/bandwidth", "resnet18-train: train_step/time", "resnet18-train: train_step/throughput",
                "resnet18-train: peak_memory")), names.toString());
        JsonNode gemm = r.get("scenarios").get(0).get("figures");
        assertEquals(3, gemm.get(0).get("samples").asInt());
        assertTrue(gemm.get(1).get("note").asText().startsWith(2L * 64 * 32 * 16 + " FLOPs per run"), gemm.get(1).toString());
        assertTrue(out.toString().contains("workload") && out.toString().contains("results: " + dir.resolve("a.json")), out.toString());
        // the result of a workload is one line of the table, not also an unformatted copy of it while running
        assertEquals(1, out.toString().lines().filter(l -> l.contains("matmul M=64 N=32 K=16")).count(), out.toString());
        JsonNode warmup = r.get("scenarios").get(0).get("run").get("warmup");
        assertEquals(1, warmup.get("min_runs").asInt());
        JsonNode w = warmup.get("workloads").get("matmul M=64 N=32 K=16");
        assertTrue(w.get("runs").asInt() >= 1 && w.has("stable") && w.has("seconds"), warmup.toString());
        assertEquals("matmul M=64 N=32 K=16/time", gemm.get(1).get("derived_from").asText(), "GFLOP/s names the time it comes from");

        StringWriter cmp = new StringWriter();
        List<Compare.Row> rows = Compare.print(dir.resolve("a.json"), dir.resolve("a.json"), new PrintWriter(cmp, true));
        for (Compare.Row row : rows) {
            assertEquals(1.0, row.ratio());
            assertEquals("within spread", row.verdict());
        }
    }

    @Test
    void badSettings() {
        var none = new BenchRun.Settings(List.of(), ScenarioOptions.defaults(), new Warmup.Policy(1, 5, 0), 1, null, null, false, "");
        assertTrue(assertThrows(BadInputException.class, () -> BenchRun.run(Backends.cpu(), none, null, null)).getMessage().startsWith("no scenario given"));
        var bad = new BenchRun.Settings(List.of("gemm", "nope"), ScenarioOptions.defaults(), new Warmup.Policy(1, 5, 0), 1, null, null, false, "");
        assertTrue(assertThrows(BadInputException.class, () -> BenchRun.run(Backends.cpu(), bad, null, null)).getMessage().startsWith("unknown scenario 'nope'"));
        var samples = new BenchRun.Settings(List.of("gemm"), ScenarioOptions.defaults(), new Warmup.Policy(1, 5, 0), 0, null, null, false, "");
        assertEquals("--samples must be >= 1, got 0", assertThrows(BadInputException.class, () -> BenchRun.run(Backends.cpu(), samples, null, null)).getMessage());
    }
}
