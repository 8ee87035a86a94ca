package dvp.training.perf;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.engine.Scope;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.training.run.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 17: {@code dvp bench} and {@code dvp profile} run on the simulated CUDA device (the test
 * JVMs get DVP_CUDA_SIM=1 from the build) and every figure they produce says "simulated, not a
 * speed": in the results JSON (device.simulated and each figure's note), on every row of the
 * printed tables, in {@code bench compare}'s verdicts, in {@code bench report}'s table.md, chart
 * legend and title; the same runs on the CPU carry none of it. Tiny sizes: the simulated kernels
 * are plain loops.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SimulatedDeviceLabelTest {
    static final String LABEL = RunEnvironment.NOT_A_SPEED;

    /** Shared by the tests of the class: the two bench results files are made once. */
    @TempDir
    static Path dir;

    Path simJson, cpuJson;
    String simOut, cpuOut, simLog;

    /** The two scenarios' workload rows start with these. */
    static boolean isWorkloadRow(String line) { return line.startsWith("gemm ") || line.startsWith("margin-infonce "); }

    static BenchRun.Settings settings(Path json, Path ceilings) {
        // gemm 16³ and margin-InfoNCE with N 4, K 32: milliseconds on the simulator
        return new BenchRun.Settings(List.of("gemm", "margin-infonce"), new ScenarioOptions(4, null, null, null, 32, "16,16,16", null, 0),
                new Warmup.Policy(1, 5, 0), 3, json, ceilings, false, "dvp bench test");
    }

    /** Runs the two benches once for the tests that read them (each test skips, or fails in CI, without the simulator). */
    void bench() throws Exception {
        Backend cuda = PerfTesting.simulatedCuda();
        if (simJson != null) return;
        Path ceilings = PerfTesting.fakeCeilings(dir, Backends.cpu());
        simJson = dir.resolve("sim.json");
        cpuJson = dir.resolve("cpu.json");
        StringWriter out = new StringWriter(), log = new StringWriter();
        BenchRun.run(cuda, settings(simJson, ceilings), new PrintWriter(out, true), new PrintWriter(log, true));
        simOut = out.toString();
        simLog = log.toString();
        StringWriter cpu = new StringWriter();
        BenchRun.run(Backends.cpu(), settings(cpuJson, ceilings), new PrintWriter(cpu, true), new PrintWriter(new StringWriter(), true));
        cpuOut = cpu.toString();
    }

    @Test
    void benchJsonMarksTheDeviceAndEveryFigure() throws Exception {
        bench();
        JsonNode r = Json.readFile(simJson);
        ResultsSchemaTest.assertValid(r);
        assertTrue(r.get("device").get("simulated").asBoolean(), r.get("device").toString());
        assertEquals("cuda", r.get("device").get("backend").asText());
        int figures = 0;
        for (JsonNode sc : r.get("scenarios"))
            for (JsonNode f : sc.get("figures")) {
                assertTrue(f.get("note").asText().startsWith(LABEL + "; "), "figure " + f.get("name") + " of " + sc.get("name") + ": " + f);
                figures++;
            }
        assertEquals(8, figures, "gemm and margin-infonce: time, compute, bandwidth and peak memory each");
        assertTrue(r.get("notes").get(0).asText().startsWith(LABEL + ": "), r.get("notes").toString());
        // no ceilings on a simulated device, even with a ceilings file given (a simulated 8192³ GEMM would take hours)
        assertFalse(r.has("ceilings"), "ceilings: " + r.get("ceilings"));
        assertTrue(simLog.contains("no ceilings on a simulated device"), simLog);

        Results.Read read = Results.read(simJson);
        assertTrue(read.simulated());
        assertTrue(read.figures().stream().allMatch(Results.ReadFigure::simulated));

        JsonNode c = Json.readFile(cpuJson);
        ResultsSchemaTest.assertValid(c);
        assertFalse(c.get("device").get("simulated").asBoolean(true), c.get("device").toString());
        assertFalse(Files.readString(cpuJson).toLowerCase(Locale.ROOT).contains("simulated, not"), "the CPU file carries no label");
        assertTrue(c.has("ceilings"), "the CPU run used the ceilings file");
        assertFalse(Results.read(cpuJson).simulated());
    }

    @Test
    void everyRowOfTheBenchTableSaysSo() throws Exception {
        bench();
        List<String> lines = simOut.lines().toList();
        assertTrue(lines.get(1).startsWith("SIMULATED device (dvp CUDA simulator") && lines.get(1).contains("every figure below is " + LABEL),
                simOut);
        String header = lines.stream().filter(l -> l.startsWith("scenario ")).findFirst().orElseThrow();
        assertTrue(header.endsWith("  note"), header);
        List<String> rows = lines.stream().filter(SimulatedDeviceLabelTest::isWorkloadRow).toList();
        assertEquals(2, rows.size(), "one table row per workload:\n" + simOut);
        for (String row : rows) assertTrue(row.endsWith("  " + LABEL), row);

        assertEquals(2, cpuOut.lines().filter(SimulatedDeviceLabelTest::isWorkloadRow).count(), cpuOut);
        assertFalse(cpuOut.toLowerCase(Locale.ROOT).contains("simulated"), cpuOut);
    }

    @Test
    void compareNeverCallsASimulatedRatioASpeedUp() throws Exception {
        bench();
        StringWriter out = new StringWriter();
        List<Compare.Row> rows = Compare.print(cpuJson, simJson, new PrintWriter(out, true));
        assertEquals(8, rows.size(), out.toString());
        for (Compare.Row r : rows) {
            assertNotNull(r.ratio(), r.toString());
            assertEquals(LABEL + " (B)", r.verdict(), r.toString());
        }
        List<String> figureRows = out.toString().lines().filter(l -> l.startsWith("gemm / ") || l.startsWith("margin-infonce / ")).toList();
        assertEquals(8, figureRows.size(), out.toString());
        for (String l : figureRows) assertTrue(l.endsWith(LABEL + " (B)"), l);
        assertTrue(out.toString().contains("B: " + simJson) && out.toString().contains("SIMULATED device, every figure is " + LABEL), out.toString());
        assertFalse(out.toString().matches("(?s).*\\b(better|worse) \\d.*"), out.toString());

        StringWriter cpu = new StringWriter();
        for (Compare.Row r : Compare.print(cpuJson, cpuJson, new PrintWriter(cpu, true))) assertEquals("within spread", r.verdict());
        assertFalse(cpu.toString().toLowerCase(Locale.ROOT).contains("simulated"), cpu.toString());
    }

    @Test
    void reportLabelsTheSimulatedSeriesInTableCsvAndChart() throws Exception {
        bench();
        var series = List.of(BenchReport.Series.parse("dvp sim=" + simJson, true), BenchReport.Series.parse("dvp cpu=" + cpuJson, false));
        BenchReport.Report r = BenchReport.write(series, dir.resolve("rep"), "sim vs cpu", List.of(), new PrintWriter(new StringWriter(), true));
        String sim = "dvp sim (" + LABEL + ")";

        // the chart as drawn: the title says it, the simulated series' legend entry says it, the CPU's does not
        assertNotNull(r.png(), "chart drawn: " + r.problems());
        assertTrue(Files.size(r.png()) > 1000);
        List<String> chart = r.chartLabels();
        assertEquals(List.of("sim vs cpu [" + LABEL + ": dvp sim]", "speed relative to dvp cpu (higher is faster)", sim, "dvp cpu"), chart);
        assertEquals(List.of(sim, "dvp cpu"), List.copyOf(r.chart().get("gemm").keySet()));

        String md = Files.readString(r.table());
        assertTrue(md.contains("- **" + LABEL + "**: series dvp sim ran on a simulated device"), md);
        assertTrue(md.contains("| " + sim + " (ours) |"), md);
        // medians and ratios: the simulated median and every ratio involving it are labelled, the CPU median is not
        List<String[]> medianRows = md.lines().filter(l -> l.startsWith("| gemm | matmul") || l.startsWith("| margin-infonce | margin")
                || l.matches("\\| (gemm|margin-infonce) \\| peak_memory .*")).map(l -> l.split(" \\| ")).toList();
        assertEquals(4, medianRows.size(), md);
        for (String[] c : medianRows) {
            assertTrue(c[3].endsWith("(" + LABEL + ")"), String.join(" | ", c));
            assertFalse(c[4].contains("simulated"), String.join(" | ", c));
            assertTrue(c[5].endsWith("(" + LABEL + ") |"), String.join(" | ", c));
        }
        // the chart's numbers in the table: the simulated series' bars are labelled, the reference's are not
        List<String[]> chartRows = md.lines().filter(l -> l.matches("\\| (gemm|margin-infonce) \\| [0-9].*")).map(l -> l.split(" \\| ")).toList();
        assertEquals(2, chartRows.size(), md);
        for (String[] c : chartRows) {
            assertTrue(c[1].endsWith("(" + LABEL + ")"), String.join(" | ", c));
            assertEquals("1.00 |", c[2]);
        }
        String csv = Files.readString(dir.resolve("rep/chart.csv"));
        assertEquals(2, csv.lines().filter(l -> l.contains(",\"" + sim + "\",")).count(), csv);

        // a report of CPU files only says nothing of the kind
        var cpuOnly = List.of(BenchReport.Series.parse("a=" + cpuJson, true), BenchReport.Series.parse("b=" + cpuJson, false));
        BenchReport.Report c = BenchReport.write(cpuOnly, dir.resolve("rep-cpu"), "cpu", List.of(), new PrintWriter(new StringWriter(), true));
        assertEquals(List.of("cpu", "speed relative to b (higher is faster)", "a", "b"), c.chartLabels());
        assertFalse(Files.readString(c.table()).toLowerCase(Locale.ROOT).contains("simulated"));
        assertFalse(Files.readString(dir.resolve("rep-cpu/chart.csv")).contains("simulated"));
    }

    @Test
    void profileOnTheSimulatedDeviceLabelsTheReportEveryRowAndTheJson() throws Exception {
        Backend cuda = PerfTesting.simulatedCuda();
        var s = new ProfileRun.Settings("resnet18-train", PerfTesting.tinyResNet(), 0, 1, true, 3, false, dir.resolve("p.trace.json"),
                dir.resolve("p.json"), PerfTesting.fakeCeilings(dir, Backends.cpu()), false, "dvp profile test");
        StringWriter out = new StringWriter();
        ProfileRun.Outcome o = ProfileRun.run(cuda, s, new PrintWriter(out, true), new PrintWriter(new StringWriter(), true));
        String report = out.toString();
        List<String> lines = report.lines().toList();
        assertTrue(lines.get(0).startsWith("dvp profile: resnet18-train on cuda (dvp CUDA simulator"), report);
        assertTrue(lines.get(1).startsWith("SIMULATED device (") && lines.get(1).contains(LABEL), report);
        int header = lines.indexOf(lines.stream().filter(l -> l.startsWith("op ")).findFirst().orElseThrow());
        int total = lines.indexOf(lines.stream().filter(l -> l.startsWith("total (primitives)")).findFirst().orElseThrow());
        assertTrue(lines.get(header).matches(".*  note +shapes"), lines.get(header));
        List<String> rows = lines.subList(header + 1, total + 1).stream().filter(l -> !l.startsWith("---")).toList();
        assertEquals(5, rows.size(), "3 op rows, the rest, the total:\n" + report);
        for (String row : rows) assertTrue(row.contains("  " + LABEL), row);
        assertTrue(report.contains("\nstep time (" + LABEL + "): ") && report.contains("\nprimitives (" + LABEL + "): "), report);
        assertTrue(report.contains("\nceilings: none on a simulated device\n"), report);

        JsonNode r = Json.readFile(dir.resolve("p.json"));
        ResultsSchemaTest.assertValid(r);
        assertTrue(r.get("device").get("simulated").asBoolean());
        JsonNode figures = r.get("scenarios").get(0).get("figures");
        assertEquals(6, figures.size(), figures.toString());
        for (JsonNode f : figures) assertTrue(f.get("note").asText().startsWith(LABEL + "; "), f.toString());
        for (Figure f : o.results().scenarios().getFirst().figures()) assertTrue(f.note().startsWith(LABEL), f.toString());
        String traceNote = Json.readFile(dir.resolve("p.trace.json")).get("otherData").path("simulated").asText();
        assertTrue(traceNote.contains(LABEL), "the trace's metadata: " + traceNote);
    }

    @Test
    void profileOnTheCpuCarriesNoLabel() throws Exception {
        var s = new ProfileRun.Settings("gemm", new ScenarioOptions(null, null, null, null, null, "16,16,16", null, 0), 0, 2, true, 3, false,
                null, dir.resolve("cpu-p.json"), null, false, "dvp profile test");
        StringWriter out = new StringWriter();
        ProfileRun.run(Backends.cpu(), s, new PrintWriter(out, true), new PrintWriter(new StringWriter(), true));
        assertFalse(out.toString().toLowerCase(Locale.ROOT).contains("simulated"), out.toString());
        assertTrue(out.toString().contains("\nstep time: "), out.toString());
        JsonNode r = Json.readFile(dir.resolve("cpu-p.json"));
        assertFalse(r.get("device").get("simulated").asBoolean(true));
        for (JsonNode f : r.get("scenarios").get(0).get("figures")) assertFalse(f.get("note").asText().contains("simulated"), f.toString());
    }

    @Test
    void theTrainingHookLabelsItsProfileToo() throws Exception {
        Backend cuda = PerfTesting.simulatedCuda();
        var o = new StepProfiler.Options(true, 1, 2, false);
        Backend be = StepProfiler.backendFor(cuda, o);
        Path out = dir.resolve("hook");
        try (Scope s = Scope.open(); Scenario sc = Scenarios.create("gemm", be, new ScenarioOptions(null, null, null, null, null, "8,8,8", null, 0));
             StepProfiler p = StepProfiler.open(be, o, out, new PrintWriter(new StringWriter()))) {
            for (long step = 0; step < 4; step++) {
                p.beforeStep(step);
                sc.step();
                p.afterStep(step);
            }
        }
        List<String> lines = Files.readAllLines(out.resolve("profile.txt"));
        assertTrue(lines.get(1).startsWith("SIMULATED device ("), String.join("\n", lines));
        int header = lines.indexOf(lines.stream().filter(l -> l.startsWith("op ")).findFirst().orElseThrow());
        int total = lines.indexOf(lines.stream().filter(l -> l.startsWith("total (primitives)")).findFirst().orElseThrow());
        List<String> rows = lines.subList(header + 1, total + 1).stream().filter(l -> !l.startsWith("---")).toList();
        assertTrue(rows.size() >= 2 && rows.getFirst().startsWith("matmul "), String.join("\n", lines));
        for (String row : rows) assertTrue(row.contains("  " + LABEL), row);
        assertTrue(lines.getLast().endsWith("(" + LABEL + ")"), lines.getLast());
        JsonNode r = Json.readFile(out.resolve("profile.json"));
        assertTrue(r.get("device").get("simulated").asBoolean());
        for (JsonNode f : r.get("scenarios").get(0).get("figures")) assertTrue(f.get("note").asText().startsWith(LABEL), f.toString());
        assertNull(r.get("ceilings"));
    }
}
