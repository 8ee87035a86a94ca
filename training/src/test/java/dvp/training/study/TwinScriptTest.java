package dvp.training.study;

import dvp.engine.spi.Backends;
import dvp.training.run.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * bench/pytorch/dvp_twin.py on a one-seed tiny study: it reads the study's settings and split,
 * writes seed.json in dvp's schema (read here by {@link Study#readSeeds}), trains on exactly the
 * images dvp trained on, and the report puts both side by side with a fidelity column. Needs
 * /usr/bin/python3 with torch and torchvision (skipped without; a failure under DVP_REQUIRE_TORCH=1,
 * as in CI).
 */
class TwinScriptTest {
    private static final String PYTHON = System.getProperty("dvp.python", "/usr/bin/python3");
    private static final Path SCRIPT = Path.of("..", "bench", "pytorch", "dvp_twin.py").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    private static void needsTorch() throws Exception {
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

    @Test
    void twinReadsTheStudyAndWritesDvpsSchema() throws Exception {
        needsTorch();
        Path fm = StudyTest.writeFakeFashionMnist(dir), study = dir.resolve("study"), twin = dir.resolve("twin");
        StudyConfig cfg = StudyTest.tiny(fm, 1);
        Study.Result r = new Study(cfg, StudyTest.quiet(), Backends.cpu(), new PrintStream(new ByteArrayOutputStream(), true)).prepare().run(study);

        Process p = new ProcessBuilder(PYTHON, SCRIPT.toString(), "--study", study.toString(), "--out", twin.toString(), "--threads", "1")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the twin finishes");
        assertEquals(0, p.exitValue(), out);

        List<SeedResult> seeds = Study.readSeeds(twin);
        assertEquals(1, seeds.size(), out);
        SeedResult t = seeds.getFirst();
        assertEquals("pytorch-twin", t.implementation());
        assertEquals(0, t.seed());
        assertEquals(SeedResult.ROWS, List.copyOf(t.rows().keySet()));
        for (SeedResult.Row row : t.rows().values())
            for (double v : new double[]{row.testTop1(), row.testTop5(), row.valTop1Last(), row.valTop1Best(), row.trainTop1()})
                assertTrue(v >= 0 && v <= 1, row.toString());
        assertEquals(SeedResult.PHASE1, List.copyOf(t.phase1().keySet()));
        assertEquals(SeedResult.PHASE2, List.copyOf(t.phase2().keySet()));
        assertTrue(t.phase1().get("acc5") >= t.phase1().get("acc1") && t.phase1().get("acc1") >= t.phase1().get("acc1_margin"), t.phase1().toString());
        // the twin's phase-2 log: one entry per epoch, each stage's share adding up to the term
        var dlog = Json.readFile(twin.resolve("seed-0").resolve("distill.json"));
        assertEquals(cfg.pipeline().distill().epochs(), dlog.size());
        for (var e : dlog) {
            double sum = 0;
            for (var v : e.get("distill_stages")) sum += v.asDouble();
            assertEquals(e.get("distill").asDouble(), sum, 1e-6 * Math.max(1, sum));
        }
        // side by side: with one seed each there is no interval, and the report says so
        StudyReport report = StudyReport.of(cfg, r.seeds(), seeds);
        String md = report.markdown();
        assertTrue(md.contains("PyTorch twin") && md.contains("needs 2+ seeds each"), md);
    }
}
