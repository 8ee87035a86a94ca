package dvp.training.study;

import dvp.training.run.AtomicFiles;
import dvp.training.run.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A study's numbers aggregated over seeds, for dvp and optionally the PyTorch twin:
 * <ul>
 *   <li>per row and metric: mean, sample standard deviation, two-sided 95 % t interval of the mean
 *       ({@link SeedSummary});</li>
 *   <li>the paired difference phase 2 − fine-tune, per seed (both rows of a seed start from the
 *       same phase-1 network), with its t interval and what the interval supports: better, worse,
 *       or no difference shown;</li>
 *   <li>with a twin, the fidelity verdict per row: dvp's mean lies inside the twin's interval
 *       and the twin's mean inside dvp's ("consistent"), else "DIFFERENT" — a bug to find;</li>
 *   <li>phase 1's last-epoch contrastive accuracies (margin-adjusted and plain) and loss.</li>
 * </ul>
 * Written as {@code results.md}, {@code results.json} and {@code results.png} (test top-1 per row,
 * mean with its 95 % interval and every seed's value).
 */
public final class StudyReport {
    private final StudyConfig cfg;
    private final List<SeedResult> dvp, twin;

    private StudyReport(StudyConfig cfg, List<SeedResult> dvp, List<SeedResult> twin) {
        this.cfg = cfg;
        this.dvp = List.copyOf(dvp);
        this.twin = List.copyOf(twin);
    }

    /** @param twin the twin's seeds (empty: none) */
    public static StudyReport of(StudyConfig cfg, List<SeedResult> dvp, List<SeedResult> twin) {
        if (dvp.isEmpty()) throw new IllegalArgumentException("study report: no finished seed");
        return new StudyReport(cfg, dvp, twin);
    }

    public List<SeedResult> dvp() { return dvp; }

    public List<SeedResult> twin() { return twin; }

    /** A row's metric over the seeds of one implementation (null when a seed lacks it). */
    public static SeedSummary summary(List<SeedResult> seeds, String row, SeedResult.Metric m) {
        double[] v = values(seeds, row, m);
        return v == null ? null : SeedSummary.of(v);
    }

    private static double[] values(List<SeedResult> seeds, String row, SeedResult.Metric m) {
        if (seeds.isEmpty()) return null;
        double[] v = new double[seeds.size()];
        for (int i = 0; i < v.length; i++) {
            SeedResult.Row r = seeds.get(i).rows().get(row);
            if (r == null || !Double.isFinite(r.get(m))) return null;
            v[i] = 100 * r.get(m);
        }
        return v;
    }

    /** Phase 2 − fine-tune per seed, in points (null when a seed lacks either). */
    public static SeedSummary phase2MinusFinetune(List<SeedResult> seeds, SeedResult.Metric m) {
        double[] a = values(seeds, "distill", m), b = values(seeds, "finetune", m);
        return a == null || b == null ? null : SeedSummary.paired(a, b);
    }

    /** dvp's mean inside the twin's interval and the twin's inside dvp's. */
    public static String fidelity(SeedSummary dvp, SeedSummary twin) {
        if (dvp == null || twin == null) return "-";
        if (!dvp.hasInterval() || !twin.hasInterval()) return "needs 2+ seeds each";
        return dvp.contains(twin.mean()) && twin.contains(dvp.mean()) ? "consistent" : "DIFFERENT";
    }

    /** What a paired interval supports. */
    public static String verdict(SeedSummary d) {
        if (d == null) return "-";
        if (!d.hasInterval()) return "one seed: no interval";
        return switch (d.signVersusZero()) {
            case 1 -> "phase 2 better (interval above 0)";
            case -1 -> "phase 2 worse (interval below 0)";
            default -> "no difference shown (interval contains 0)";
        };
    }

    static String cell(SeedSummary s) {
        if (s == null) return "-";
        if (!s.hasInterval()) return String.format(Locale.ROOT, "%.1f (1 seed)", s.mean());
        return String.format(Locale.ROOT, "%.1f ± %.1f [%.1f, %.1f]", s.mean(), s.halfWidth(), s.low(), s.high());
    }

    static String signedCell(SeedSummary s) {
        if (s == null) return "-";
        if (!s.hasInterval()) return String.format(Locale.ROOT, "%+.2f (1 seed)", s.mean());
        return String.format(Locale.ROOT, "%+.2f ± %.2f [%+.2f, %+.2f]", s.mean(), s.halfWidth(), s.low(), s.high());
    }

    static String sd(SeedSummary s) { return s == null || !s.hasInterval() ? "-" : String.format(Locale.ROOT, "%.2f", s.sd()); }

    private static String seedList(List<SeedResult> s) {
        return s.stream().map(r -> Long.toString(r.seed())).reduce((a, b) -> a + ", " + b).orElse("");
    }

    public String markdown() {
        boolean hasTwin = !twin.isEmpty();
        StringBuilder sb = new StringBuilder();
        var p = cfg.pipeline();
        sb.append("# Study: ").append(cfg.regime()).append("\n\n");
        sb.append(String.format(Locale.ROOT, "dvp: %d of %d seeds done (seeds %s)%s; %s.%n%n", dvp.size(), cfg.seeds(), seedList(dvp),
                hasTwin ? "; PyTorch twin: " + twin.size() + " seeds (" + seedList(twin) + ")" : "",
                cfg.variesSplit() ? "each seed draws its own train/val split (split seed = seed)"
                        : "one train/val split (split seed " + cfg.splitSeed() + "), the training seed varies"));
        sb.append(String.format(Locale.ROOT, "Data: %s, %d/class train, %d/class val; network %s at %d px; phase 1 %d epochs, "
                        + "phase 2 / fine-tune / supervised %d epochs, linear %d epochs.%n%n", p.data().kind(), p.data().trainPerClass(),
                p.data().valPerClass(), p.pretrain().model().describe(), p.pretrain().imageSize(), p.pretrain().epochs(), p.distill().epochs(),
                p.linear().epochs()));
        sb.append("Statistics: mean over seeds, sample standard deviation (sd), and the two-sided 95 % confidence interval of the mean, "
                + "mean ± t(0.975, n−1)·sd/√n, written mean ± half-width [low, high]. The phase 2 − fine-tune difference is paired: "
                + "taken per seed (both rows start from that seed's phase-1 network), then the same interval over the differences.");
        if (hasTwin) sb.append(" Fidelity: dvp's mean lies inside the twin's interval and the twin's inside dvp's.");
        sb.append("\n\n");

        for (SeedResult.Metric m : new SeedResult.Metric[]{SeedResult.Metric.TEST_TOP1, SeedResult.Metric.VAL_TOP1, SeedResult.Metric.TRAIN_TOP1}) {
            sb.append("## ").append(cap(m.label)).append(" (%)\n\n");
            sb.append("| Method | dvp | sd |");
            if (hasTwin) sb.append(" PyTorch twin | sd | fidelity |");
            sb.append('\n').append(hasTwin ? "|---|---:|---:|---:|---:|---|\n" : "|---|---:|---:|\n");
            for (String row : SeedResult.ROWS) {
                SeedSummary a = summary(dvp, row, m);
                sb.append("| ").append(SeedResult.label(row)).append(" | ").append(cell(a)).append(" | ").append(sd(a)).append(" |");
                if (hasTwin) {
                    SeedSummary b = summary(twin, row, m);
                    sb.append(' ').append(cell(b)).append(" | ").append(sd(b)).append(" | ").append(fidelity(a, b)).append(" |");
                }
                sb.append('\n');
            }
            SeedSummary d = phase2MinusFinetune(dvp, m);
            sb.append("| **Phase 2 − finetune (paired)** | ").append(signedCell(d)).append(" | ").append(sd(d)).append(" |");
            if (hasTwin) {
                SeedSummary e = phase2MinusFinetune(twin, m);
                sb.append(' ').append(signedCell(e)).append(" | ").append(sd(e)).append(" | ").append(fidelity(d, e)).append(" |");
            }
            sb.append("\n\nPhase 2 − finetune: dvp ").append(verdict(d));
            if (hasTwin) sb.append("; twin ").append(verdict(phase2MinusFinetune(twin, m)));
            sb.append(".\n\n");
        }

        sb.append("## Phase 1 (last epoch's means)\n\n");
        sb.append("acc1_margin/acc5_margin: top-1/top-5 of the positive key on the margin-adjusted logits (q·k⁺ − m against the queue; "
                + "what the reference code prints as Acc@1/Acc@5); acc1/acc5: the same on the plain cosines (q·k⁺).\n\n");
        sb.append("| Metric | dvp |").append(hasTwin ? " PyTorch twin | fidelity |" : "").append('\n')
                .append(hasTwin ? "|---|---:|---:|---|\n" : "|---|---:|\n");
        for (String k : SeedResult.PHASE1) {
            SeedSummary a = phase1(dvp, k), b = hasTwin ? phase1(twin, k) : null;
            sb.append("| ").append(k).append(k.equals("loss") ? "" : " (%)").append(" | ").append(cell(a)).append(" |");
            if (hasTwin) sb.append(' ').append(cell(b)).append(" | ").append(fidelity(a, b)).append(" |");
            sb.append('\n');
        }
        sb.append('\n');

        sb.append("## Phase 2's loss terms (last epoch's means per image)\n\n");
        sb.append("ce: cross-entropy; distill: λ·Σ_i w_i·d_i / B, the distillation term added to it; distill_i: stage i's share "
                + "(layer1 … layer4).\n\n");
        sb.append("| Term | dvp |").append(hasTwin ? " PyTorch twin | fidelity |" : "").append('\n')
                .append(hasTwin ? "|---|---:|---:|---|\n" : "|---|---:|\n");
        for (String k : SeedResult.PHASE2) {
            SeedSummary a = phase2(dvp, k), b = hasTwin ? phase2(twin, k) : null;
            sb.append("| ").append(k).append(" | ").append(cell4(a)).append(" |");
            if (hasTwin) sb.append(' ').append(cell4(b)).append(" | ").append(fidelity(a, b)).append(" |");
            sb.append('\n');
        }
        sb.append('\n');

        perSeed(sb, "dvp", dvp);
        if (hasTwin) perSeed(sb, "PyTorch twin", twin);
        return sb.toString();
    }

    private static SeedSummary phase2(List<SeedResult> seeds, String key) {
        if (seeds.isEmpty()) return null;
        double[] v = new double[seeds.size()];
        for (int i = 0; i < v.length; i++) {
            Double x = seeds.get(i).phase2().get(key);
            if (x == null || !Double.isFinite(x)) return null;
            v[i] = x;
        }
        return SeedSummary.of(v);
    }

    /** Four significant digits (two for the half-width): loss terms span orders of magnitude. */
    static String cell4(SeedSummary s) {
        if (s == null) return "-";
        if (!s.hasInterval()) return sig(s.mean(), 4) + " (1 seed)";
        return sig(s.mean(), 4) + " ± " + sig(s.halfWidth(), 2) + " [" + sig(s.low(), 4) + ", " + sig(s.high(), 4) + "]";
    }

    static String sig(double x, int digits) {
        if (!Double.isFinite(x)) return "-";
        if (x == 0) return "0";
        return new java.math.BigDecimal(x).round(new java.math.MathContext(digits)).stripTrailingZeros().toPlainString();
    }

    private static SeedSummary phase1(List<SeedResult> seeds, String key) {
        if (seeds.isEmpty()) return null;
        double[] v = new double[seeds.size()];
        for (int i = 0; i < v.length; i++) {
            Double x = seeds.get(i).phase1().get(key);
            if (x == null || !Double.isFinite(x)) return null;
            v[i] = key.equals("loss") ? x : 100 * x;
        }
        return SeedSummary.of(v);
    }

    private static void perSeed(StringBuilder sb, String who, List<SeedResult> seeds) {
        sb.append("## Every seed, ").append(who).append(" (test top-1 %; train top-1 % in brackets)\n\n");
        sb.append("| Seed | Split seed | Supervised | Linear | Finetune | Phase 2 | Phase 2 − finetune | phase-1 acc1 (%) | Wall time | CPU time |\n");
        sb.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (SeedResult r : seeds) {
            sb.append("| ").append(r.seed()).append(" | ").append(r.splitSeed());
            for (String row : SeedResult.ROWS) {
                SeedResult.Row x = r.rows().get(row);
                sb.append(" | ").append(x == null ? "-" : String.format(Locale.ROOT, "%.1f (%.1f)", 100 * x.testTop1(), 100 * x.trainTop1()));
            }
            SeedResult.Row a = r.rows().get("distill"), b = r.rows().get("finetune");
            sb.append(" | ").append(a == null || b == null ? "-" : String.format(Locale.ROOT, "%+.1f", 100 * (a.testTop1() - b.testTop1())));
            Double acc1 = r.phase1().get("acc1");
            sb.append(" | ").append(acc1 == null ? "-" : String.format(Locale.ROOT, "%.1f", 100 * acc1));
            sb.append(" | ").append(duration(r.seconds())).append(" | ").append(duration(r.cpuSeconds())).append(" |\n");
        }
        double wall = seeds.stream().mapToDouble(SeedResult::seconds).sum(), cpu = seeds.stream().mapToDouble(SeedResult::cpuSeconds).sum();
        sb.append(String.format(Locale.ROOT, "%nTotal: %s wall, %s CPU (%d cores here).%n%n", duration(wall), duration(cpu),
                Runtime.getRuntime().availableProcessors()));
    }

    static String duration(double s) {
        if (!Double.isFinite(s)) return "-";
        long t = Math.round(s);
        return t >= 3600 ? String.format(Locale.ROOT, "%dh%02dm%02ds", t / 3600, t / 60 % 60, t % 60)
                : t >= 60 ? String.format(Locale.ROOT, "%dm%02ds", t / 60, t % 60) : t + "s";
    }

    private static String cap(String s) { return Character.toUpperCase(s.charAt(0)) + s.substring(1); }

    /** The aggregate as plain data (results.json): per implementation, row and metric, the summary and the seeds' values. */
    public Map<String, Object> json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("regime", cfg.regime());
        m.put("vary", cfg.vary());
        m.put("confidence", SeedSummary.LEVEL);
        m.put("dvp", implJson(dvp));
        if (!twin.isEmpty()) {
            m.put("pytorch_twin", implJson(twin));
            Map<String, Object> fid = new LinkedHashMap<>();
            for (SeedResult.Metric metric : SeedResult.Metric.values()) {
                Map<String, String> perRow = new LinkedHashMap<>();
                for (String row : SeedResult.ROWS) perRow.put(row, fidelity(summary(dvp, row, metric), summary(twin, row, metric)));
                perRow.put("phase2_minus_finetune", fidelity(phase2MinusFinetune(dvp, metric), phase2MinusFinetune(twin, metric)));
                fid.put(key(metric), perRow);
            }
            m.put("fidelity", fid);
        }
        return m;
    }

    private static Map<String, Object> implJson(List<SeedResult> seeds) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seeds", seeds.stream().map(SeedResult::seed).toList());
        for (SeedResult.Metric metric : SeedResult.Metric.values()) {
            Map<String, Object> rows = new LinkedHashMap<>();
            for (String row : SeedResult.ROWS) rows.put(row, summaryJson(summary(seeds, row, metric)));
            SeedSummary d = phase2MinusFinetune(seeds, metric);
            Map<String, Object> dj = summaryJson(d);
            if (dj != null) dj.put("verdict", verdict(d));
            rows.put("phase2_minus_finetune", dj);
            m.put(key(metric), rows);
        }
        Map<String, Object> p1 = new LinkedHashMap<>();
        for (String k : SeedResult.PHASE1) p1.put(k, summaryJson(phase1(seeds, k)));
        m.put("phase1", p1);
        Map<String, Object> p2 = new LinkedHashMap<>();
        for (String k : SeedResult.PHASE2) p2.put(k, summaryJson(phase2(seeds, k)));
        m.put("phase2", p2);
        return m;
    }

    private static String key(SeedResult.Metric m) { return m.name().toLowerCase(Locale.ROOT); }

    private static Map<String, Object> summaryJson(SeedSummary s) {
        if (s == null) return null;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n", s.n());
        m.put("mean", s.mean());
        m.put("sd", s.sd());
        m.put("ci95_low", s.low());
        m.put("ci95_high", s.high());
        m.put("values", s.values());
        return m;
    }

    /** Writes results.md, results.json and results.png (the chart is skipped, with a note in the markdown, when AWT cannot draw). */
    public void write(Path folder) throws IOException {
        String md = markdown();
        String problem = StudyChart.write(this, folder.resolve("results.png"));
        if (problem != null) md += "\n(" + problem + ")\n";
        byte[] bytes = md.getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(folder.resolve("results.md"), out -> out.write(bytes));
        Json.writeFile(folder.resolve("results.json"), json());
    }

    /** Rows in chart order with their test top-1 summaries for one implementation. */
    List<SeedSummary> testTop1(List<SeedResult> seeds) {
        List<SeedSummary> out = new ArrayList<>();
        for (String row : SeedResult.ROWS) out.add(summary(seeds, row, SeedResult.Metric.TEST_TOP1));
        return out;
    }

    boolean hasTwin() { return !twin.isEmpty(); }

    StudyConfig config() { return cfg; }

}
