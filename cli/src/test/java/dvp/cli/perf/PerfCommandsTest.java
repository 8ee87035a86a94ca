package dvp.cli.perf;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.cli.Dvp;
import dvp.cli.ExitCodes;
import dvp.engine.spi.Availability;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.engine.spi.ComputeSettings;
import dvp.engine.spi.Precision;
import dvp.engine.testing.ChildJvm;
import dvp.training.perf.Ceilings;
import dvp.training.perf.RunEnvironment;
import dvp.training.run.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** dvp profile, dvp bench, dvp bench compare / report and the NVTX doctor line, run in-process. */
class PerfCommandsTest {
    record Run(int code, String out, String err) {}

    static Run dvp(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Dvp.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    static Path fakeCeilings(Path dir) throws Exception {
        RunEnvironment.DeviceInfo d = RunEnvironment.of(Backends.cpu()).device();
        String key = Ceilings.keyOf(d);
        Path f = dir.resolve("ceilings.json");
        Json.writeFile(f, Map.of(key, new Ceilings(key, d.name(), "cpu", 10, 100, 1024, 1, "2026-01-01T00:00:00Z", "test", "test")));
        return f;
    }

    @Test
    void profilePrintsTheTableAndWritesTraceAndResults(@TempDir Path dir) throws Exception {
        Run r = dvp("profile", "resnet18-train", "--device", "cpu", "--batch", "2", "--resolution", "32", "--width", "0.25",
                "--warmup", "1", "--steps", "2", "--top", "5", "--trace", dir.resolve("t.json").toString(), "--json",
                dir.resolve("r.json").toString(), "--ceilings", fakeCeilings(dir).toString());
        assertEquals(ExitCodes.OK, r.code(), r.out() + r.err());
        assertTrue(r.out().startsWith("dvp profile: resnet18-train on cpu ("), r.out());
        assertTrue(r.out().contains("(") && r.out().contains(" more rows)") && r.out().contains("total (primitives)"), r.out());
        assertTrue(r.out().contains("GEMM 100 GFLOP/s"), r.out());
        JsonNode res = Json.readFile(dir.resolve("r.json"));
        assertEquals("dvp-results/1", res.get("schema").asText());
        assertTrue(res.get("scenarios").get(0).get("run").get("command").asText()
                .startsWith("dvp profile resnet18-train --device cpu --batch 2"), res.toString());
        assertTrue(Json.readFile(dir.resolve("t.json")).get("traceEvents").size() > 100);
    }

    @Test
    void profileGroupedByOpWithoutCeilings() {
        Run r = dvp("--device", "cpu", "profile", "gemm", "--size", "32,16,8", "--warmup", "0", "--steps", "1", "--group-by", "op",
                "--ceilings", "none");
        assertEquals(ExitCodes.OK, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("ceilings: not used (--ceilings none)"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("matmul\\s+1\\s+.*")), r.out());
    }

    @Test
    void benchWritesResultsAndCompareReadsThem(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a.json");
        Run r = dvp("bench", "--device", "cpu", "-s", "gemm,margin-infonce", "--size", "16,16,16", "--batch", "4", "--queue", "32",
                "--warmup", "1", "--samples", "2", "--json", a.toString(), "--ceilings", "none");
        assertEquals(ExitCodes.OK, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("matmul M=16 N=16 K=16") && r.out().contains("margin_infonce forward+backward N=4 K=32 d=128"), r.out());
        Run c = dvp("bench", "compare", a.toString(), a.toString());
        assertEquals(ExitCodes.OK, c.code(), c.out() + c.err());
        assertTrue(c.out().contains("gemm / matmul M=16 N=16 K=16/time") && c.out().contains("1.000") && c.out().contains("within spread"), c.out());
        Run rep = dvp("bench", "report", "--out", dir.resolve("rep").toString(), "--ours", "ours=" + a, "--baseline", "base=" + a,
                "--note", "a note");
        assertEquals(ExitCodes.OK, rep.code(), rep.out() + rep.err());
        String md = Files.readString(dir.resolve("rep/table.md"));
        assertTrue(md.contains("- a note") && md.contains("| gemm | matmul M=16 N=16 K=16/time | ms |") && md.contains("| ~1.00× |"), md);
        assertTrue(Files.size(dir.resolve("rep/chart.png")) > 1000, rep.out());
    }

    @Test
    void badInputsExitTwoWithOneLine(@TempDir Path dir) throws Exception {
        Path corrupt = dir.resolve("corrupt.json");
        Files.writeString(corrupt, "{\"schema\": ");
        String[][] cases = {
                {"profile", "resnet99", "--device", "cpu", "--ceilings", "none"}, {"unknown scenario 'resnet99'"},
                {"profile", "--device", "cpu", "--steps", "0", "--ceilings", "none"}, {"--steps must be >= 1, got 0"},
                {"profile", "--device", "cpu", "--group-by", "layer", "--ceilings", "none"}, {"--group-by must be 'shapes' or 'op'"},
                {"profile", "--device", "cpu", "--batch", "0", "--ceilings", "none"}, {"batch must be positive, got 0"},
                {"profile", "gemm", "--device", "cpu", "--size", "1,2", "--ceilings", "none"}, {"--size must be M,N,K"},
                {"profile", "--device", "cpu", "--warmup", "x"}, {"--warmup"},
                {"bench", "--device", "cpu", "-s", "gemm,nope", "--ceilings", "none"}, {"unknown scenario 'nope'"},
                {"bench", "--device", "cpu", "-s", "gemm", "--samples", "0", "--ceilings", "none"}, {"--samples must be >= 1, got 0"},
                {"bench", "compare", dir.resolve("missing.json").toString(), corrupt.toString()}, {"no such file or directory: " + dir.resolve("missing.json")},
                {"bench", "compare", corrupt.toString(), corrupt.toString()}, {corrupt + ": not valid JSON"},
                {"bench", "compare", corrupt.toString()}, {"Missing required parameter"},
                {"bench", "report", "--out", dir.toString(), "--ours", "x=" + corrupt}, {"Missing required option: '--baseline"},
                {"bench", "report", "--out", dir.toString(), "--ours", "x", "--baseline", "y=" + corrupt}, {"a series is LABEL=FILE"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            Run r = dvp(cases[i]);
            String cmd = String.join(" ", cases[i]);
            assertEquals(ExitCodes.BAD_INPUT, r.code(), cmd + ": " + r.out() + r.err());
            assertTrue(r.err().contains(cases[i + 1][0]), cmd + ": " + r.err());
            assertEquals(1, r.err().lines().filter(l -> !l.startsWith("dvp: --device auto")).count(), cmd + ": one line: " + r.err());
            assertFalse(r.err().contains("\tat "), cmd + ": no stack trace");
        }
    }

    /** Run in a child JVM without DVP_CUDA_SIM: dvp profile and dvp bench on --device cuda, and whether CUDA is there. */
    public static final class WithoutSimulator {
        public static void main(String[] args) {
            System.out.println("cuda available=" + Backends.all().stream().anyMatch(b -> b.name().equals("cuda") && b.availability().available()));
            for (String[] cmd : new String[][]{{"profile", "gemm", "--device", "cuda", "--size", "16,16,16", "--warmup", "0", "--steps", "1", "--ceilings", "none"},
                    {"bench", "--device", "cuda", "-s", "gemm", "--size", "16,16,16", "--warmup", "0", "--samples", "1", "--ceilings", "none"}}) {
                Run r = dvp(cmd);
                System.out.println(cmd[0] + " exit=" + r.code() + " err=" + r.err().strip().replace('\n', ' '));
            }
        }
    }

    @Test
    void aMissingDeviceExitsThree() throws Exception {
        // the test JVMs have the simulated CUDA device (DVP_CUDA_SIM=1 from the build): ask a JVM without it
        Map<String, String> env = new HashMap<>();
        env.put("DVP_CUDA_SIM", null);
        env.put("DVP_CUDA_SIM_DIR", null);
        ChildJvm.Result r = ChildJvm.run(env, List.of(), WithoutSimulator.class);
        assertEquals(0, r.exit(), r.output());
        if (r.output().contains("cuda available=true")) {
            // a machine with a real GPU: both commands run on it
            assertTrue(r.output().contains("profile exit=0") && r.output().contains("bench exit=0"), r.output());
            return;
        }
        for (String cmd : new String[]{"profile", "bench"}) {
            String line = r.output().lines().filter(l -> l.startsWith(cmd + " exit=")).findFirst().orElseThrow(() -> new AssertionError(r.output()));
            assertTrue(line.startsWith(cmd + " exit=" + ExitCodes.NO_BACKEND + " err="), line);
            assertTrue(line.contains("cuda") && !line.contains("\tat "), "one line naming the device, no stack trace: " + line);
        }
    }

    /** The CUDA backend of this test JVM: the simulator (DVP_CUDA_SIM=1 from the build); in CI (DVP_REQUIRE_CUDA_SIM=1) never a skip. */
    static Backend simulatedCuda() {
        Backend cuda = Backends.all().stream().filter(b -> b.name().equals("cuda")).findFirst().orElseThrow();
        Availability av = cuda.availability();
        if ("1".equals(System.getenv("DVP_REQUIRE_CUDA_SIM")))
            assertTrue(av.available(), "DVP_REQUIRE_CUDA_SIM=1 but the CUDA backend is unavailable: " + av.reason());
        assumeTrue(av.available(), () -> "CUDA unavailable (is the simulator built?): " + av.reason());
        assumeTrue(cuda.simulated(), "the CUDA device here is a real GPU (-Ddvp.test.cudaSim=0)");
        return cuda;
    }

    @Test
    void onTheSimulatedDeviceEveryFigureSaysSimulatedNotASpeed(@TempDir Path dir) throws Exception {
        simulatedCuda();
        String label = RunEnvironment.NOT_A_SPEED;
        Path sim = dir.resolve("sim.json"), cpu = dir.resolve("cpu.json"), ceilings = dir.resolve("ceilings.json");
        String[] scenario = {"-s", "gemm,margin-infonce", "--size", "16,16,16", "--batch", "4", "--queue", "32", "--warmup", "1", "--samples", "2"};

        Run b = dvp(concat(new String[]{"--device", "cuda", "bench"}, scenario, "--json", sim.toString(), "--ceilings", ceilings.toString()));
        assertEquals(ExitCodes.OK, b.code(), b.out() + b.err());
        assertTrue(b.out().lines().toList().get(1).startsWith("SIMULATED device (") && b.out().contains("every figure below is " + label), b.out());
        List<String> rows = b.out().lines().filter(l -> l.startsWith("gemm ") || l.startsWith("margin-infonce ")).toList();
        assertEquals(2, rows.size(), b.out()); // one table row per workload
        for (String row : rows) assertTrue(row.endsWith("  " + label), row);
        assertTrue(b.err().contains("no ceilings on a simulated device") && !Files.exists(ceilings), "no ceilings measured: " + b.err());
        JsonNode res = Json.readFile(sim);
        assertTrue(res.get("device").get("simulated").asBoolean());
        for (JsonNode sc : res.get("scenarios"))
            for (JsonNode f : sc.get("figures")) assertTrue(f.get("note").asText().startsWith(label + "; "), f.toString());

        Run p = dvp("--device", "cuda", "profile", "gemm", "--size", "16,16,16", "--warmup", "0", "--steps", "1", "--ceilings", "none");
        assertEquals(ExitCodes.OK, p.code(), p.out() + p.err());
        List<String> opRows = p.out().lines().filter(l -> l.startsWith("matmul ") || l.startsWith("total (primitives)")).toList();
        assertEquals(2, opRows.size(), p.out());
        for (String row : opRows) assertTrue(row.contains("  " + label), row);
        assertTrue(p.out().contains("\nstep time (" + label + "): "), p.out());

        // the same bench on the CPU says nothing of the kind
        Run c = dvp(concat(new String[]{"--device", "cpu", "bench"}, scenario, "--json", cpu.toString(), "--ceilings", "none"));
        assertEquals(ExitCodes.OK, c.code(), c.out() + c.err());
        assertFalse((c.out() + c.err()).toLowerCase(java.util.Locale.ROOT).contains("simulated"), c.out());
        assertFalse(Files.readString(cpu).contains(label), "the CPU's figures carry no label");
        assertFalse(Json.readFile(cpu).get("device").get("simulated").asBoolean(true));

        Run cmp = dvp("bench", "compare", cpu.toString(), sim.toString());
        assertEquals(ExitCodes.OK, cmp.code(), cmp.out() + cmp.err());
        List<String> figures = cmp.out().lines().filter(l -> l.startsWith("gemm / ") || l.startsWith("margin-infonce / ")).toList();
        assertEquals(8, figures.size(), cmp.out());
        for (String f : figures) assertTrue(f.endsWith(label + " (B)"), f);
        assertFalse(cmp.out().contains("better") || cmp.out().contains("worse"), cmp.out());

        Run rep = dvp("bench", "report", "--out", dir.resolve("rep").toString(), "--ours", "dvp sim=" + sim, "--baseline", "dvp cpu=" + cpu);
        assertEquals(ExitCodes.OK, rep.code(), rep.out() + rep.err());
        String md = Files.readString(dir.resolve("rep/table.md"));
        assertTrue(md.contains("| scenario | workload | unit | dvp sim (" + label + ") | dvp cpu | dvp sim (" + label + ") vs dvp cpu |"), md);
        assertTrue(md.contains("| gemm | matmul M=16 N=16 K=16/time | ms | ") && md.lines().filter(l -> l.startsWith("| gemm | matmul"))
                .allMatch(l -> l.endsWith("(" + label + ") |")), md);
        assertTrue(Files.size(dir.resolve("rep/chart.png")) > 1000, rep.out());
    }

    @Test
    void benchWithPrecisionBf16RunsAutocastOnTheDeviceAndIsRefusedOnTheCpu(@TempDir Path dir) throws Exception {
        Backend cuda = simulatedCuda();
        ComputeSettings before = cuda.computeSettings(); // the CUDA context is this JVM's: put it back for later tests
        String[] scenario = {"-s", "gemm", "--size", "16,16,16", "--warmup", "1", "--samples", "2", "--ceilings", "none"};
        Path bf16 = dir.resolve("bf16.json");
        try {
            Run b = dvp(concat(new String[]{"--device", "cuda", "bench", "--precision", "bf16"}, scenario, "--json", bf16.toString()));
            assertEquals(ExitCodes.OK, b.code(), b.out() + b.err());
            JsonNode facts = Json.readFile(bf16).get("device").get("facts");
            assertEquals("bf16", facts.get("precision").asText(), facts.toString());
            assertTrue(facts.get("autocast").asText().startsWith("bf16"), facts.toString());
            JsonNode gemm = Json.readFile(bf16).get("scenarios").get(0);
            assertEquals("BF16", gemm.get("settings").get("dtype").asText(), "the gemm scenario runs the bf16 GEMM: " + gemm);
            assertEquals(Precision.BF16, cuda.computeSettings().precision(), "the backend was configured");
        } finally {
            cuda.configure(before);
        }
        // the CPU is the fp32 reference: bf16 is refused (bad input), not silently run in fp32
        Run c = dvp(concat(new String[]{"--device", "cpu", "bench", "--precision", "bf16"}, scenario, "--json", dir.resolve("cpu.json").toString()));
        assertEquals(ExitCodes.BAD_INPUT, c.code(), c.out() + c.err());
        assertTrue(c.err().contains("--precision bf16: bf16 autocast needs a CUDA device"), c.err());
        assertFalse(Files.exists(dir.resolve("cpu.json")), "nothing is measured");
    }

    @Test
    void withoutPrecisionTheDeviceDefaultsToBf16AndSaysSoAndTheCpuToFp32(@TempDir Path dir) throws Exception {
        Backend cuda = simulatedCuda();
        ComputeSettings before = cuda.computeSettings(); // the CUDA context is this JVM's: put it back for later tests
        String[] scenario = {"-s", "gemm", "--size", "16,16,16", "--warmup", "1", "--samples", "2", "--ceilings", "none"};
        Path dflt = dir.resolve("default.json"), fp32 = dir.resolve("fp32.json"), cpu = dir.resolve("cpu.json");
        try {
            cuda.configure(new ComputeSettings(Precision.FP32, before.deterministic())); // as a fresh process starts (no DVP_CUDA_TF32)
            Run b = dvp(concat(new String[]{"--device", "cuda", "bench"}, scenario, "--json", dflt.toString()));
            assertEquals(ExitCodes.OK, b.code(), b.out() + b.err());
            assertTrue(b.err().contains("dvp: --precision bf16 (the default on cuda, compute capability 8.0+); --precision fp32 for exact fp32"), b.err());
            assertEquals("bf16", Json.readFile(dflt).get("device").get("facts").get("precision").asText());

            Run f = dvp(concat(new String[]{"--device", "cuda", "bench", "--precision", "fp32"}, scenario, "--json", fp32.toString()));
            assertEquals(ExitCodes.OK, f.code(), f.out() + f.err());
            assertFalse(f.err().contains("the default on cuda"), "asked for, so not announced: " + f.err());
            assertEquals("fp32", Json.readFile(fp32).get("device").get("facts").get("precision").asText());
        } finally {
            cuda.configure(before);
        }
        Run c = dvp(concat(new String[]{"--device", "cpu", "bench"}, scenario, "--json", cpu.toString()));
        assertEquals(ExitCodes.OK, c.code(), c.out() + c.err());
        assertFalse(c.err().contains("--precision"), "the CPU's fp32 is the reference default, nothing to say: " + c.err());
        assertEquals("fp32", Json.readFile(cpu).get("device").get("facts").get("precision").asText());
    }

    @Test
    void benchRecordsPrecisionAndDeterministicAndTheReportShowsThem(@TempDir Path dir) throws Exception {
        Backend cuda = simulatedCuda();
        ComputeSettings before = cuda.computeSettings(); // the CUDA context is this JVM's: put it back for later tests
        String[] scenario = {"-s", "gemm", "--size", "16,16,16", "--warmup", "1", "--samples", "2", "--ceilings", "none"};
        Path tuned = dir.resolve("tf32.json"), cpu = dir.resolve("cpu.json");
        try {
            Run b = dvp(concat(new String[]{"--device", "cuda", "bench", "--precision", "tf32", "--deterministic"}, scenario, "--json", tuned.toString()));
            assertEquals(ExitCodes.OK, b.code(), b.out() + b.err());
            JsonNode facts = Json.readFile(tuned).get("device").get("facts");
            assertEquals("tf32", facts.get("precision").asText(), facts.toString());
            assertEquals("on", facts.get("deterministic").asText(), facts.toString());
            assertEquals(new ComputeSettings(Precision.TF32, true), cuda.computeSettings(), "the backend was configured");
        } finally {
            cuda.configure(before);
        }
        // the CPU computes in fp32 whatever is asked, says so, and records what it did
        Run c = dvp(concat(new String[]{"--device", "cpu", "bench", "--precision", "tf32"}, scenario, "--json", cpu.toString()));
        assertEquals(ExitCodes.OK, c.code(), c.out() + c.err());
        assertTrue(c.err().contains("--precision tf32 has no effect on cpu: it computes in fp32"), c.err());
        assertEquals("fp32", Json.readFile(cpu).get("device").get("facts").get("precision").asText());

        Run rep = dvp("bench", "report", "--out", dir.resolve("rep").toString(), "--ours", "sim tf32=" + tuned, "--baseline", "cpu=" + cpu);
        assertEquals(ExitCodes.OK, rep.code(), rep.out() + rep.err());
        String md = Files.readString(dir.resolve("rep/table.md"));
        assertTrue(md.contains("precision: tf32; deterministic: on") && md.contains("precision: fp32; deterministic: on"), md);
    }

    private static String[] concat(String[] a, String[] b, String... c) {
        List<String> all = new ArrayList<>(List.of(a));
        all.addAll(List.of(b));
        all.addAll(List.of(c));
        return all.toArray(String[]::new);
    }

    @Test
    void helpListsTheScenariosAndDoctorSaysWhetherNvtxIsAvailable() {
        Run h = dvp("profile", "--help");
        assertEquals(0, h.code());
        for (String s : new String[]{"resnet18-train", "moco-step", "distill-step", "margin-infonce", "ofd-loss", "conv", "gemm", "--trace", "--nvtx"})
            assertTrue(h.out().contains(s), s + " in\n" + h.out());
        Run b = dvp("bench", "--help");
        assertTrue(b.out().contains("compare") && b.out().contains("resnet50-train"), b.out());
        Run d = dvp("doctor", "--device", "cpu");
        assertTrue(d.out().lines().anyMatch(l -> l.matches("nvtx\\s+(ok  |    )\\s*.*")), d.out());
    }

    @CommandLine.Command(name = "train")
    static final class FakeTrainer implements Runnable {
        @CommandLine.Mixin
        ProfileOptionsMixin profiling;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        dvp.training.perf.StepProfiler.Options options;

        @Override
        public void run() { options = profiling.toOptions(spec.commandLine()); }
    }

    @Test
    void trainingCommandsProfileOptions() {
        FakeTrainer t = new FakeTrainer();
        CommandLine cl = new CommandLine(t);
        cl.setErr(new PrintWriter(new StringWriter()));
        assertEquals(0, cl.execute("--profile", "--profile-steps", "3:2", "--nvtx"));
        assertEquals(new dvp.training.perf.StepProfiler.Options(true, 3, 2, true), t.options);
        assertEquals(0, cl.execute());
        assertEquals(new dvp.training.perf.StepProfiler.Options(false, 10, 5, false), t.options);
        for (String bad : new String[]{"3", "a:b", "-1:2", "2:0"}) {
            StringWriter err = new StringWriter();
            cl.setErr(new PrintWriter(err, true));
            assertEquals(2, cl.execute("--profile-steps", bad), bad);
            assertTrue(err.toString().contains("--profile-steps"), err.toString());
        }
    }
}
