package dvp.cli.perf;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.cli.Dvp;
import dvp.cli.ExitCodes;
import dvp.engine.spi.Backends;
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
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

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

    @Test
    void aMissingDeviceExitsThree() {
        assumeFalse(Backends.all().stream().anyMatch(b -> b.name().equals("cuda") && b.availability().available()), "a GPU is present");
        Run r = dvp("profile", "--device", "cuda", "--ceilings", "none");
        assertEquals(ExitCodes.NO_BACKEND, r.code(), r.err());
        Run b = dvp("bench", "--device", "cuda", "-s", "gemm", "--ceilings", "none");
        assertEquals(ExitCodes.NO_BACKEND, b.code(), b.err());
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
