package dvp.training.perf;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.engine.spi.Backends;
import dvp.training.run.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * bench/pytorch/gpu_baselines.py, run on the CPU at tiny sizes: its files pass the results schema,
 * {@link Results#read} reads them, and every scenario's workloads and figures carry the same names
 * as dvp's own bench of the same settings, so {@code dvp bench compare} / {@code report} pair them.
 * Needs /usr/bin/python3 with torch and torchvision (skipped with the reason without them; fails
 * instead under DVP_REQUIRE_TORCH=1, as in CI).
 */
class GpuBaselinesScriptTest {
    private static final String PYTHON = System.getProperty("dvp.python", "/usr/bin/python3");
    private static final Path SCRIPT = Path.of("..", "bench", "pytorch", "gpu_baselines.py").toAbsolutePath().normalize();
    /** The tiny settings both sides run with (split BN with 2 splits needs >= 2 images per split at 1x1). */
    private static final List<String> TINY = List.of("--batch", "4", "--resolution", "32", "--queue", "16", "--size", "64,64,64");

    @BeforeAll
    static void needsTorch() throws Exception {
        String why = null;
        if (!Files.isExecutable(Path.of(PYTHON))) {
            why = PYTHON + " not found";
        } else {
            Process p = new ProcessBuilder(PYTHON, "-c", "import torch, torchvision").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) why = PYTHON + " cannot import torch and torchvision: " + out.strip();
        }
        if (why != null) {
            if ("1".equals(System.getenv("DVP_REQUIRE_TORCH"))) fail(why + " and DVP_REQUIRE_TORCH=1");
            assumeTrue(false, "skipped: " + why + " (needs python3-torch and python3-torchvision; CI installs them)");
        }
    }

    private static String run(Path json, String mode, String scenarios, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(PYTHON, SCRIPT.toString(), "--device", "cpu", "--mode", mode, "-s", scenarios,
                "--warmup", "0", "--samples", "1", "--threads", "1", "--json", json.toString()));
        cmd.addAll(TINY);
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "gpu_baselines.py did not finish: " + out);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    @Test
    void everyScenarioMatchesDvpsNamesAndTheSchema(@TempDir Path dir) throws Exception {
        Path theirs = dir.resolve("torch.json");
        String out = run(theirs, "eager-fp32", String.join(",", Scenarios.NAMES));
        JsonNode root = Json.readFile(theirs);
        ResultsSchemaTest.assertValid(root);
        assertEquals(0, root.get("skipped").size(), out);
        assertEquals("pytorch", root.get("tool").get("name").asText());
        assertTrue(root.get("device").get("facts").get("tf32").asText().contains("allow_tf32=False"), root.toString());

        // dvp on the same settings. The cheap op scenarios run through dvp bench (so figure suffixes pair too); the
        // training steps and conv are only built (running them takes a minute on this CPU): same workload names and settings
        var o = new ScenarioOptions(4, 32, null, null, 16, "64,64,64", null, 0);
        List<String> ops = List.of("margin-infonce", "ofd-loss", "gemm");
        Path ours = dir.resolve("dvp.json");
        BenchRun.run(Backends.cpu(), new BenchRun.Settings(ops, o, new Warmup.Policy(0, 5, 0), 1, ours, null, false, "test"),
                new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
        Results.Read a = Results.read(ours), b = Results.read(theirs);
        List<Compare.Row> rows = Compare.compare(a, b);
        List<String> unpaired = rows.stream().filter(r -> r.verdict().equals("only in B") && ops.stream().anyMatch(n -> r.figure().startsWith(n + " / ")))
                .map(Compare.Row::figure).toList();
        assertTrue(unpaired.isEmpty(), "figures dvp does not have: " + unpaired);
        for (String sc : ops)
            assertTrue(rows.stream().anyMatch(r -> r.figure().startsWith(sc + " / ") && r.figure().endsWith("/time") && r.ratio() != null), sc + ": " + rows);
        for (JsonNode sc : root.get("scenarios")) {
            String name = sc.get("name").asText();
            if (ops.contains(name)) continue;
            try (Scenario built = Scenarios.create(name, Backends.cpu(), o)) {
                if (name.equals("conv")) assertEquals(69, built.workloads().size(), "23 shapes x 3 directions");
                for (Scenario.Workload w : built.workloads()) {
                    boolean found = false;
                    for (JsonNode f : sc.get("figures")) found |= f.get("name").asText().equals(w.name() + "/time");
                    assertTrue(found, name + ": no figure '" + w.name() + "/time' in " + sc.get("figures"));
                }
                JsonNode mine = Json.tree(built.settings());
                mine.properties().forEach(e -> {
                    if (e.getValue().isNumber())
                        assertEquals(e.getValue().asDouble(), sc.get("settings").path(e.getKey()).asDouble(Double.NaN), 1e-6, name + " setting " + e.getKey());
                });
            }
        }
        // and the report pairs them, with no differing setting
        StringWriter log = new StringWriter();
        var report = BenchReport.write(List.of(new BenchReport.Series("dvp", true, List.of(ours)), new BenchReport.Series("torch", false, List.of(theirs))),
                dir.resolve("report"), "t", List.of(), new PrintWriter(log));
        assertFalse(Files.readString(report.table()).contains("settings differ"), Files.readString(report.table()));
        for (String sc : ops) assertTrue(report.chart().get(sc).containsKey("dvp"), sc + ": " + report.chart());
    }

    @Test
    void ampChannelsLastRunsAndCompileIsSkippedWithTheReason(@TempDir Path dir) throws Exception {
        Path amp = dir.resolve("amp.json");
        run(amp, "eager-amp-bf16-cl", "resnet18-train,ofd-loss,gemm");
        JsonNode root = Json.readFile(amp);
        ResultsSchemaTest.assertValid(root);
        assertEquals(3, root.get("scenarios").size(), root.toString());
        assertEquals("channels_last", root.get("device").get("facts").get("memory_format").asText());

        // gemm under torch.compile is skipped on every torch: "no torch.compile" before 2.0, "a single cuBLAS call" after
        Path comp = dir.resolve("compile.json");
        String out = run(comp, "compile-amp-bf16-cl", "gemm");
        JsonNode c = Json.readFile(comp);
        ResultsSchemaTest.assertValid(c);
        assertEquals(0, c.get("scenarios").size());
        String reason = c.get("skipped").get(0).get("reason").asText();
        assertTrue(reason.contains("torch.compile"), reason + "\n" + out);
        assertEquals(List.of("gemm: " + reason), Results.read(comp).skipped());
    }
}
