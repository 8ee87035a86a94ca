package dvp.training.perf;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.training.run.BadInputException;
import dvp.training.run.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** dvp profile on a small ResNet-18 training step on the CPU: the table, the trace, the results file. */
class ProfileRunTest {
    static final Backend CPU = Backends.cpu();
    @TempDir
    static Path dir;
    static ProfileRun.Outcome outcome;
    static String log;

    /** 2 warm-up and 3 profiled steps of a tiny ResNet-18 with cached (fake) ceilings. */
    private static ProfileRun.Settings settings(Path trace, Path results) throws Exception {
        return new ProfileRun.Settings("resnet18-train", PerfTesting.tinyResNet(), 2, 3, true, 12, false,
                trace, results, PerfTesting.fakeCeilings(dir, CPU), false, "dvp profile test");
    }

    @BeforeAll
    static void profileOnce() throws Exception {
        StringWriter out = new StringWriter(), err = new StringWriter();
        outcome = ProfileRun.run(CPU, settings(dir.resolve("trace.json"), dir.resolve("out/results.json")), new PrintWriter(out, true),
                new PrintWriter(err, true));
        log = err.toString();
        assertEquals(outcome.report() + "trace: " + dir.resolve("trace.json") + " (open in https://ui.perfetto.dev or chrome://tracing)\n"
                + "results: " + dir.resolve("out/results.json") + "\n", out.toString());
    }

    @Test
    void usesTheCachedCeilingsWithoutMeasuring() {
        assertFalse(log.contains("measuring"), log);
        assertTrue(outcome.report().contains("ceilings: copy 10.0 GB/s, GEMM 100 GFLOP/s"), outcome.report());
    }

    @Test
    void perOpTimesSumToTheStepTimeWithinTenPercent() throws Exception {
        OpTable t = outcome.table();
        double rowsMs = t.rows().stream().mapToDouble(OpTable.Row::totalMs).sum();
        assertEquals(t.opNanos() / 1e6, rowsMs, 1e-6 * rowsMs, "rows add up to the time in primitives");
        double stepsMs = outcome.steps().stream().mapToDouble(s -> s.deviceNanos() / 1e6).sum();
        assertEquals(t.stepNanos() / 1e6, stepsMs, 1e-9 * stepsMs);
        assertTrue(t.coveragePct() <= 100.0 + 1e-9, "primitives cannot take longer than the steps containing them: " + t.coveragePct());
        assertEquals(0, t.callsOutsideSteps());
        // Wall time between ops includes whatever else the machine runs (a loaded shared VM preempts the
        // step between ops), so an environment-made shortfall gets up to two fresh profiles; the
        // accounting is right if any one of them covers 90 %.
        double best = t.coveragePct();
        for (int attempt = 1; attempt <= 2 && best < 90.0; attempt++) {
            var again = ProfileRun.run(CPU, settings(dir.resolve("retry" + attempt + "/trace.json"), dir.resolve("retry" + attempt + "/results.json")),
                    new PrintWriter(new StringWriter(), true), new PrintWriter(new StringWriter(), true));
            best = Math.max(best, again.table().coveragePct());
        }
        assertTrue(best >= 90.0, "per-op times cover only " + best + "% of the step time (best of up to 3 profiles)");
    }

    @Test
    void tableRowsAreConsistent() {
        OpTable t = outcome.table();
        assertEquals(3, t.steps());
        Set<String> ops = new HashSet<>();
        double pct = 0;
        for (OpTable.Row r : t.rows()) {
            ops.add(r.op());
            assertTrue(r.calls() > 0 && r.calls() % 3 == 0, r + ": every step makes the same calls");
            assertEquals(r.totalMs() * 1e3 / r.calls(), r.meanUs(), 1e-9 * r.meanUs() + 1e-12);
            assertEquals(r.totalBytes(), Math.round(r.bytesPerCall() * r.calls()));
            assertTrue(r.totalBytes() > 0);
            if (r.totalMs() > 0) assertEquals(r.totalBytes() / (r.totalMs() * 1e6), r.gbps(), 1e-9 * r.gbps() + 1e-15);
            assertEquals(100 * r.gbps() / PerfTesting.COPY, r.pctOfCopy(), 1e-9 * r.pctOfCopy() + 1e-12);
            if (r.totalFlops() > 0) assertEquals(100 * r.gflops() / PerfTesting.GEMM, r.pctOfMatmul(), 1e-9 * r.pctOfMatmul() + 1e-12);
            else assertEquals(null, r.pctOfMatmul());
            assertFalse(r.shapes().isEmpty());
            pct += r.pctOfStep();
        }
        assertEquals(t.coveragePct(), pct, 1e-6);
        // the blocks' batch norms run fused with their ReLUs (batch_norm_relu_*); the downsample shortcuts' alone
        for (String op : List.of("conv2d_forward", "conv2d_backward_data", "conv2d_backward_filter", "batch_norm_forward",
                "batch_norm_backward", "batch_norm_relu_forward", "batch_norm_relu_backward", "max_pool2d_forward", "matmul",
                "cross_entropy_forward", "sgd_update_multi"))
            assertTrue(ops.contains(op), op + " missing from " + ops);
        for (int i = 1; i < t.rows().size(); i++) assertTrue(t.rows().get(i - 1).totalMs() >= t.rows().get(i).totalMs(), "sorted by total time");
    }

    @Test
    void reportPrintsTheTableWithTopRowsAndTotals() {
        List<String> lines = outcome.report().lines().toList();
        int header = -1;
        for (int i = 0; i < lines.size(); i++) if (lines.get(i).startsWith("op ")) header = i;
        assertTrue(header > 0, outcome.report());
        for (String col : ProfileReport.HEADER) assertTrue(lines.get(header).contains(col), "column " + col);
        assertTrue(lines.get(header + 1).matches("-+"), "a rule under the header");
        // 12 rows shown, then the rest in one line, a rule and the total
        List<String> body = lines.subList(header + 2, header + 2 + 12);
        for (String l : body) assertTrue(l.matches("[a-z0-9_]+\\s+\\d+\\s+.*"), "row: " + l);
        int more = outcome.table().rows().size() - 12;
        assertTrue(lines.get(header + 14).startsWith("(" + more + " more rows)"), lines.get(header + 14));
        assertTrue(lines.get(header + 16).startsWith("total (primitives)"), lines.get(header + 16));
        assertTrue(outcome.report().contains("profiling overhead"), outcome.report());
        assertTrue(outcome.report().contains("% of the profiled step time"), outcome.report());
    }

    @Test
    void traceParsesAndHoldsEveryProfiledCallOnBothTracks() throws Exception {
        TraceCheck.Report r = TraceCheck.check(dir.resolve("trace.json"), false);
        assertTrue(r.ok(), r.toString());
        assertEquals(outcome.events().size(), r.hostOps());
        assertEquals(outcome.events().size(), r.deviceOps());
        assertEquals(2 * 3, r.steps(), "3 steps on each track");
        assertFalse(TraceCheck.check(dir.resolve("trace.json"), true).ok(), "a CPU trace has no device markers");
        assertEquals("resnet18-train", Json.readFile(dir.resolve("trace.json")).get("otherData").get("scenario").asText());
    }

    @Test
    void resultsFileFollowsTheSchema() throws Exception {
        JsonNode r = Json.readFile(dir.resolve("out/results.json"));
        ResultsSchemaTest.assertValid(r);
        assertEquals("profile", r.get("kind").asText());
        JsonNode sc = r.get("scenarios").get(0);
        assertEquals("resnet18-train", sc.get("name").asText());
        assertEquals(2, sc.get("settings").get("batch").asInt());
        assertEquals(3, sc.get("run").get("steps").asInt());
        Set<String> figs = new HashSet<>();
        for (JsonNode f : sc.get("figures")) {
            figs.add(f.get("name").asText());
            if (f.get("name").asText().equals("profiling_overhead")) assertEquals(3, f.get("samples").asInt(), "one ratio per step pair");
        }
        assertTrue(figs.containsAll(List.of("step_time", "step_time_profiled", "throughput", "profiling_overhead", "op_coverage")), figs.toString());
        assertEquals(outcome.table().rows().size(), sc.get("ops").size());
        assertEquals(PerfTesting.GEMM, r.get("ceilings").get("matmul_gflops").asDouble());
    }

    @Test
    void badSettingsAreBadInput() {
        var base = new ProfileRun.Settings("resnet18-train", PerfTesting.tinyResNet(), 0, 0, true, 10, false, null, null, null, false, "");
        assertEquals("--steps must be >= 1, got 0",
                assertThrows(BadInputException.class, () -> ProfileRun.run(CPU, base, new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()))).getMessage());
        var unknown = new ProfileRun.Settings("resnet99", PerfTesting.tinyResNet(), 0, 1, true, 10, false, null, null, null, false, "");
        assertTrue(assertThrows(BadInputException.class,
                () -> ProfileRun.run(CPU, unknown, new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()))).getMessage()
                .contains("unknown scenario 'resnet99' (known: resnet18-train, resnet50-train"));
    }
}
