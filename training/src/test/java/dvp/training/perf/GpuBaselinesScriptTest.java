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
                "--warmup", "1", "--samples", "2", "--threads", "1", "--json", json.toString()));
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

        // dvp on the same settings: every workload of theirs must have our counterpart under the same key
        // (resnet50-train left out on our side to save a minute: the same class as resnet18-train)
        List<String> names = Scenarios.NAMES.stream().filter(n -> !n.equals("resnet50-train")).toList();
        Path ours = dir.resolve("dvp.json");
        var o = new ScenarioOptions(4, 32, null, null, 16, "64,64,64", null, 0);
        BenchRun.run(Backends.cpu(), new BenchRun.Settings(names, o, 0, 1, ours, null, false, "test"),
                new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
        Results.Read a = Results.read(ours), b = Results.read(theirs);
        List<Compare.Row> rows = Compare.compare(a, b);
        List<String> onlyTheirs = rows.stream().filter(r -> r.verdict().equals("only in B") && !r.figure().startsWith("resnet50-train / "))
                .map(Compare.Row::figure).toList();
        assertTrue(onlyTheirs.isEmpty(), "figures dvp does not have: " + onlyTheirs);
        for (String sc : names) {
            long paired = rows.stream().filter(r -> r.figure().startsWith(sc + " / ") && r.figure().endsWith("/time") && r.ratio() != null).count();
            assertTrue(paired >= 1, sc + ": no time figure paired: " + rows);
        }
        assertEquals(69, rows.stream().filter(r -> r.figure().startsWith("conv / ") && r.ratio() != null).count(), "23 shapes x 3 directions");
        // and the same resolved settings, number for number
        StringWriter log = new StringWriter();
        var report = BenchReport.write(List.of(new BenchReport.Series("dvp", true, List.of(ours)), new BenchReport.Series("torch", false, List.of(theirs))),
                dir.resolve("report"), "t", List.of(), new PrintWriter(log));
        String md = Files.readString(report.table());
        assertFalse(md.contains("settings differ"), md);
        assertEquals(Scenarios.NAMES, List.copyOf(report.chart().keySet()));
        for (String sc : names) assertTrue(report.chart().get(sc).containsKey("dvp"), sc + ": " + report.chart());
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
