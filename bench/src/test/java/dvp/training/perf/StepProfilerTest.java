package dvp.training.perf;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.engine.Scope;
import dvp.engine.profile.ProfilingBackend;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.training.run.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The training commands' --profile hook around a toy training loop. */
class StepProfilerTest {
    @Test
    void offMeansTheBackendUnchangedAndNothingWritten(@TempDir Path dir) {
        Backend cpu = Backends.cpu();
        assertSame(cpu, StepProfiler.backendFor(cpu, StepProfiler.Options.off()));
        try (StepProfiler p = StepProfiler.open(cpu, StepProfiler.Options.off(), dir.resolve("profile"), new PrintWriter(new StringWriter()))) {
            p.beforeStep(0);
            p.afterStep(0);
        }
        assertFalse(Files.exists(dir.resolve("profile")));
    }

    @Test
    void profilesTheWindowOfStepsAndWritesTableTraceAndResults(@TempDir Path dir) throws Exception {
        var o = new StepProfiler.Options(true, 2, 2, false);
        Backend be = StepProfiler.backendFor(Backends.cpu(), o);
        assertTrue(be instanceof ProfilingBackend);
        StringWriter log = new StringWriter();
        Path out = dir.resolve("run/profile");
        try (Scope s = Scope.open(); Scenario sc = Scenarios.create("resnet18-train", be, PerfTesting.tinyResNet());
             StepProfiler p = StepProfiler.open(be, o, out, new PrintWriter(log, true))) {
            for (long step = 0; step < 6; step++) {
                p.beforeStep(step);
                sc.step();
                p.afterStep(step);
                assertEquals(step < 3 ? null : Boolean.TRUE, step < 3 ? null : Files.exists(out.resolve("profile.txt")),
                        "the files appear when the window ends, after step 3");
            }
        }
        String table = Files.readString(out.resolve("profile.txt"));
        assertTrue(table.startsWith("profiled training steps 2..3 on "), table);
        assertTrue(table.contains("conv2d_forward") && table.contains("total (primitives)"), table);
        JsonNode results = Json.readFile(out.resolve("profile.json"));
        ResultsSchemaTest.assertValid(results);
        assertEquals(2, results.get("scenarios").get(0).get("figures").get(0).get("samples").asInt());
        JsonNode trace = Json.readFile(out.resolve("trace.json"));
        for (JsonNode e : trace.get("traceEvents"))
            if (e.get("ph").asText().equals("X") && e.get("cat").asText().equals("op"))
                assertTrue(e.get("args").get("step").asInt() == 2 || e.get("args").get("step").asInt() == 3, e.toString());
        assertTrue(log.toString().contains("profile of steps 2..3 written to " + out), log.toString());
    }

    @Test
    void aRunEndingInsideTheWindowStillWritesWhatItProfiled(@TempDir Path dir) throws Exception {
        var o = new StepProfiler.Options(true, 1, 100, false);
        Backend be = StepProfiler.backendFor(Backends.cpu(), o);
        Path out = dir.resolve("p");
        try (Scope s = Scope.open(); Scenario sc = Scenarios.create("gemm", be, new ScenarioOptions(null, null, null, null, null, "8,8,8", null, 0));
             StepProfiler p = StepProfiler.open(be, o, out, new PrintWriter(new StringWriter()))) {
            for (long step = 0; step < 3; step++) {
                p.beforeStep(step);
                sc.step();
                p.afterStep(step);
            }
        }
        assertTrue(Files.readString(out.resolve("profile.txt")).startsWith("profiled training steps 1..2 "));
    }
}
