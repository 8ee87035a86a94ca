package dvp.training.study;

import dvp.training.run.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The report's verdicts on hand-made seeds: paired differences, fidelity, what the intervals allow. */
class StudyReportTest {
    private static final StudyConfig CFG = new StudyConfig("test", StudyRegimes.pipeline("demo", StudyRegimes.Overrides.none()), 5, 0, "training", 0);

    /** Seeds with the given test top-1 (in %) of finetune and distill; supervised/linear fixed offsets. */
    private static List<SeedResult> seeds(String impl, double[] finetune, double[] distill) {
        List<SeedResult> out = new ArrayList<>();
        for (int i = 0; i < finetune.length; i++) {
            Map<String, SeedResult.Row> rows = new LinkedHashMap<>();
            rows.put("supervised", row(finetune[i] - 5));
            rows.put("linear", row(finetune[i] - 3));
            rows.put("finetune", row(finetune[i]));
            rows.put("distill", row(distill[i]));
            Map<String, Double> p1 = new LinkedHashMap<>();
            p1.put("loss", 5.5 + 0.1 * i);
            p1.put("acc1_margin", 0.0);
            p1.put("acc5_margin", 0.02);
            p1.put("acc1", 0.30 + 0.01 * i);
            p1.put("acc5", 0.60);
            Map<String, Double> p2 = new LinkedHashMap<>();
            for (String k : SeedResult.PHASE2) p2.put(k, k.equals("ce") ? 0.5 : 0.01 * (1 + i));
            out.add(new SeedResult(impl, i, 0, rows, p1, p2, 100, 150));
        }
        return out;
    }

    private static SeedResult.Row row(double testPct) { return new SeedResult.Row(testPct / 100, testPct / 100, testPct / 100, 0.99, 1.0, 10); }

    @Test
    void pairedDifferenceAndItsVerdict() {
        double[] ft = {73.0, 73.4, 74.1, 72.2, 74.0}, ds = {74.1, 72.9, 75.3, 73.8, 74.6};
        List<SeedResult> s = seeds("dvp", ft, ds);
        SeedSummary d = StudyReport.phase2MinusFinetune(s, SeedResult.Metric.TEST_TOP1);
        assertEquals(0.8, d.mean(), 1e-9);
        assertEquals(-0.20490437968254738, d.low(), 1e-6);
        assertEquals("no difference shown (interval contains 0)", StudyReport.verdict(d));
        // the same mean with a consistent sign on every seed: the interval excludes 0
        double[] better = {73.6, 74.3, 74.8, 73.1, 74.7};
        assertEquals("phase 2 better (interval above 0)", StudyReport.verdict(StudyReport.phase2MinusFinetune(seeds("dvp", ft, better), SeedResult.Metric.TEST_TOP1)));
        double[] worse = {72.0, 72.5, 73.0, 71.1, 73.1};
        assertEquals("phase 2 worse (interval below 0)", StudyReport.verdict(StudyReport.phase2MinusFinetune(seeds("dvp", ft, worse), SeedResult.Metric.TEST_TOP1)));
        assertEquals("one seed: no interval", StudyReport.verdict(SeedSummary.of(1.0)));
    }

    @Test
    void fidelityNeedsEachMeanInsideTheOthersInterval(@TempDir Path dir) throws Exception {
        double[] ft = {73.0, 73.4, 74.1, 72.2, 74.0}, ds = {74.1, 72.9, 75.3, 73.8, 74.6};
        List<SeedResult> dvp = seeds("dvp", ft, ds);
        // the twin: finetune within noise of dvp's, distill 3 points lower on every seed
        double[] tft = {73.5, 72.8, 73.9, 73.1, 74.3}, tds = {71.1, 69.9, 72.3, 70.8, 71.6};
        List<SeedResult> twin = seeds("pytorch-twin", tft, tds);
        SeedSummary a = StudyReport.summary(dvp, "finetune", SeedResult.Metric.TEST_TOP1), b = StudyReport.summary(twin, "finetune", SeedResult.Metric.TEST_TOP1);
        assertEquals("consistent", StudyReport.fidelity(a, b));
        assertEquals("DIFFERENT", StudyReport.fidelity(StudyReport.summary(dvp, "distill", SeedResult.Metric.TEST_TOP1),
                StudyReport.summary(twin, "distill", SeedResult.Metric.TEST_TOP1)));
        // one-sided containment is not enough: a wide interval around a narrow one
        SeedSummary narrow = SeedSummary.of(70.0, 70.1, 70.2), wide = SeedSummary.of(60, 72, 80);
        assertTrue(wide.contains(narrow.mean()) && !narrow.contains(wide.mean()));
        assertEquals("DIFFERENT", StudyReport.fidelity(narrow, wide));

        StudyReport r = StudyReport.of(CFG, dvp, twin);
        String md = r.markdown();
        assertTrue(md.contains("| Phase-1 + finetune | 73.3 ± 1.0 [72.4, 74.3] | 0.78 | 73.5 ± 0.7 [72.8, 74.3] | 0.60 | consistent |"), md);
        assertTrue(md.contains("| Phase-1 + Phase-2 (ours) | 74.1 ± 1.1 [73.0, 75.3] | 0.90 |") && md.contains("| DIFFERENT |"), md);
        assertTrue(md.contains("| acc1 (%) | 32.0 ± 2.0 [30.0, 34.0] |"), md);
        assertTrue(md.contains("| distill_4 | 0.03 ± 0.02 [0.01037, 0.04963] |"), md);
        r.write(dir);
        for (String f : new String[]{"results.md", "results.json", "results.png"}) assertTrue(Files.exists(dir.resolve(f)), f);
        var json = Json.readFile(dir.resolve("results.json"));
        assertEquals("DIFFERENT", json.get("fidelity").get("test_top1").get("distill").asText());
        assertEquals("consistent", json.get("fidelity").get("test_top1").get("finetune").asText());
        assertEquals(5, json.get("pytorch_twin").get("test_top1").get("distill").get("n").asInt());
    }
}
