package dvp.training.study;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.engine.Scope;
import dvp.engine.spi.Backend;
import dvp.training.data.ImageDataset;
import dvp.training.data.SubsetDataset;
import dvp.training.eval.Classifiers;
import dvp.training.eval.EvalOptions;
import dvp.training.eval.Evaluator;
import dvp.training.pipeline.DataSpec;
import dvp.training.pipeline.Pipeline;
import dvp.training.pipeline.PipelineConfig;
import dvp.training.pipeline.ResultRow;
import dvp.training.run.BadInputException;
import dvp.training.run.Json;
import dvp.training.session.SessionOptions;
import dvp.training.supervised.ClassifierConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs a {@link StudyConfig}: one {@link Pipeline} with all four Table 1 rows per seed, each in
 * {@code seed-<s>/} under the study's folder, then the aggregate ({@link StudyReport}:
 * {@code results.md}, {@code results.json}, {@code results.png}) — rewritten after every seed, so
 * a study that is still running (or was stopped) already reports the seeds it has.
 *
 * <p>Per seed, beyond the pipeline's own table, it records each row's top-1 on its own training
 * images (how far the network fits them; the over-fitting the paper's phase 2 is meant to
 * prevent), phase 1's last-epoch contrastive accuracies, and the data split ({@code split.json}:
 * the training and validation images' indices in the source file, which the PyTorch twin reads
 * to train on the very same images).
 *
 * <p>Resumable: {@code study.json} holds the configuration; a finished seed ({@code seed.json})
 * is reused, an unfinished one continues through the pipeline's own resume (finished stages are
 * reused, the others continue from their last checkpoint). A resumed study may ask for more seeds
 * than it started with, nothing else may change.
 */
public final class Study {
    private final StudyConfig cfg;
    private final SessionOptions options;
    private final Backend backend;
    private final PrintStream log;

    /** The study's outcome: its folder, every seed's numbers, the report. */
    public record Result(Path folder, List<SeedResult> seeds, StudyReport report, double seconds) {}

    public Study(StudyConfig cfg, SessionOptions options, Backend backend, PrintStream log) {
        this.cfg = cfg.validate();
        this.options = options;
        this.backend = backend;
        this.log = log;
    }

    /** Checks every stage's settings and the data for the first seed, before any folder is made. */
    public Study prepare() {
        new Pipeline(cfg.forSeed(cfg.seed(0)), options, backend, log).prepare();
        return this;
    }

    /** The configuration a study folder was started with (its study.json). */
    public static StudyConfig readConfig(Path folder) throws IOException {
        Path f = folder.resolve("study.json");
        if (!Files.exists(f)) throw new BadInputException(folder + " is not a study folder (no study.json)");
        return Json.MAPPER.treeToValue(Json.readFile(f), StudyConfig.class);
    }

    public Result run(Path folder) throws IOException {
        long t0 = System.nanoTime();
        Files.createDirectories(folder);
        Path configFile = folder.resolve("study.json");
        if (Files.exists(configFile)) {
            StudyConfig before = readConfig(folder);
            if (!before.sameStudyAs(cfg))
                throw new BadInputException(folder + " holds another study (its study.json differs from these settings apart from --seeds);"
                        + " resume it with the settings it was started with, or start a new folder");
        }
        Json.writeFile(configFile, cfg);
        List<SeedResult> done = new ArrayList<>();
        for (int i = 0; i < cfg.seeds(); i++) {
            long seed = cfg.seed(i);
            Path dir = folder.resolve("seed-" + seed);
            Path file = dir.resolve("seed.json");
            SeedResult r;
            if (Files.exists(file)) {
                r = readSeed(file);
                log.printf(Locale.ROOT, "dvp: study: seed %d already finished in %s; reusing it%n", seed, dir);
                SeedResult filled = withPhase2Terms(r, dir);
                if (filled != r) {
                    Json.writeFile(file, filled);
                    r = filled;
                    log.printf(Locale.ROOT, "dvp: study: seed %d: phase 2's loss terms read from its distill run into seed.json%n", seed);
                }
            } else {
                log.printf(Locale.ROOT, "dvp: study: seed %d (%d/%d; %d done), split seed %d, in %s%n", seed, i + 1, cfg.seeds(), done.size(),
                        cfg.splitSeedOf(seed), dir);
                r = runSeed(seed, dir);
                Json.writeFile(file, r);
            }
            done.add(r);
            StudyReport report = StudyReport.of(cfg, done, List.of());
            report.write(folder);
            Row d = diff(r);
            log.printf(Locale.ROOT, "dvp: study: %d/%d seeds done; seed %d: phase 2 − finetune %s test top-1%n", done.size(), cfg.seeds(), seed, d);
        }
        StudyReport report = StudyReport.of(cfg, done, List.of());
        report.write(folder);
        return new Result(folder, done, report, (System.nanoTime() - t0) / 1e9);
    }

    private record Row(double value) {
        @Override
        public String toString() { return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, "%+.1f points", 100 * value); }
    }

    private static Row diff(SeedResult r) {
        SeedResult.Row a = r.rows().get("distill"), b = r.rows().get("finetune");
        return new Row(a == null || b == null ? Double.NaN : a.testTop1() - b.testTop1());
    }

    static SeedResult readSeed(Path file) throws IOException {
        return Json.MAPPER.treeToValue(Json.readFile(file), SeedResult.class);
    }

    /** Reads every {@code seed-<s>/seed.json} of a folder (a dvp study or the twin's output), in seed order. */
    public static List<SeedResult> readSeeds(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) throw new BadInputException(folder + ": no such folder");
        List<SeedResult> out = new ArrayList<>();
        try (var s = Files.list(folder)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith("seed-")).toList()) {
                Path f = p.resolve("seed.json");
                if (Files.exists(f)) out.add(readSeed(f));
            }
        }
        out.sort(java.util.Comparator.comparingLong(SeedResult::seed));
        return out;
    }

    /**
     * Another study whose finished stages this one reuses where their settings are the same (an
     * ablation of phase 2 shares phase 1 and the other three rows with the study it varies).
     */
    public Study reusing(Path otherStudy) {
        this.reuseFrom = otherStudy;
        return this;
    }

    private Path reuseFrom;

    /**
     * Before seed {@code seed} runs in {@code dir}: every stage that {@link #reuseFrom} finished for the
     * same seed with the same data and settings (phase 1 too, for the rows built on it) is marked
     * finished here, pointing at the other study's exported model; the pipeline then reuses it.
     */
    private void reuseStages(long seed, Path dir) throws IOException {
        if (reuseFrom == null) return;
        StudyConfig other = readConfig(reuseFrom);
        PipelineConfig a = cfg.forSeed(seed), b = other.forSeed(seed);
        Path from = reuseFrom.resolve("seed-" + seed);
        if (!a.data().equals(b.data()) || !a.pretrain().equals(b.pretrain())) return; // nothing is shared
        Map<String, Boolean> same = new LinkedHashMap<>();
        same.put("pretrain", true);
        same.put("supervised", a.supervised().equals(b.supervised()));
        same.put("linear", a.linear().equals(b.linear()));
        same.put("finetune", a.finetune().equals(b.finetune()));
        same.put("distill", a.distill().equals(b.distill()));
        for (var e : same.entrySet()) {
            Path done = from.resolve(e.getKey()).resolve("result.json"), here = dir.resolve(e.getKey()).resolve("result.json");
            if (!e.getValue() || !Files.exists(done) || Files.exists(here)) continue;
            Files.createDirectories(here.getParent());
            Files.copy(done, here);
            log.printf(Locale.ROOT, "dvp: study: seed %d: %s reused from %s (same settings)%n", seed, e.getKey(), from.resolve(e.getKey()));
        }
    }

    private SeedResult runSeed(long seed, Path dir) throws IOException {
        long t0 = System.nanoTime();
        double cpu0 = cpuSeconds();
        PipelineConfig pc = cfg.forSeed(seed);
        reuseStages(seed, dir);
        Pipeline.Result pr = new Pipeline(pc, options, backend, log).prepare().run(dir);
        DataSpec.Splits data = pc.data().open();
        writeSplit(dir.resolve("split.json"), data, pc.data().splitSeed());
        Map<String, SeedResult.Row> rows = new LinkedHashMap<>();
        Map<String, ClassifierConfig> configs = Map.of("supervised", pc.supervised(), "linear", pc.linear(), "finetune", pc.finetune(),
                "distill", pc.distill());
        for (ResultRow row : pr.rows()) {
            String key = keyOf(row.method());
            double train = trainTop1(Path.of(row.model()), data.train(), data.normalize(), configs.get(key));
            rows.put(key, new SeedResult.Row(row.valTop1Last(), row.valTop1Best(), row.testTop1(), row.testTop5(), train, row.seconds()));
        }
        // phase 1's run folder: this seed's, or the study's it was reused from (its export lies in it)
        Path backbone = Path.of(Json.readFile(dir.resolve("pretrain").resolve("result.json")).get("export").asText());
        Map<String, Double> phase1 = lastEpoch(backbone.getParent().getParent().resolve("metrics").resolve("metrics.jsonl"), SeedResult.PHASE1);
        Path student = Path.of(Json.readFile(dir.resolve("distill").resolve("result.json")).get("export").asText());
        Map<String, Double> phase2 = lastEpoch(student.getParent().getParent().resolve("metrics").resolve("metrics.jsonl"), SeedResult.PHASE2);
        return new SeedResult("dvp", seed, pc.data().splitSeed(), rows, phase1, phase2, (System.nanoTime() - t0) / 1e9, cpuSeconds() - cpu0);
    }

    /**
     * A finished seed written before seeds recorded phase 2's loss terms gets them from its distill
     * run's metrics (the same last-epoch means a new seed records); {@code r} itself when it has
     * them already or the run's metrics are not there.
     */
    static SeedResult withPhase2Terms(SeedResult r, Path dir) throws IOException {
        if (!r.phase2().isEmpty()) return r;
        Path result = dir.resolve("distill").resolve("result.json");
        if (!Files.exists(result)) return r;
        Path student = Path.of(Json.readFile(result).get("export").asText());
        Path metrics = student.getParent().getParent().resolve("metrics").resolve("metrics.jsonl");
        if (!Files.exists(metrics)) return r;
        Map<String, Double> phase2 = lastEpoch(metrics, SeedResult.PHASE2);
        if (phase2.isEmpty()) return r;
        return new SeedResult(r.implementation(), r.seed(), r.splitSeed(), r.rows(), r.phase1(), phase2, r.seconds(), r.cpuSeconds());
    }

    /** The pipeline's row label → the study's row key. */
    static String keyOf(String method) {
        for (String k : SeedResult.ROWS) if (SeedResult.label(k).equals(method)) return k;
        throw new IllegalStateException("unknown pipeline row '" + method + "'");
    }

    /** Top-1 of a row's final model on its own training images, centre crop (the validation transform). */
    private double trainTop1(Path model, ImageDataset train, dvp.training.data.transforms.Normalize normalize, ClassifierConfig c) {
        try (Scope s = Scope.open("study-train-accuracy")) {
            var ens = Classifiers.load(List.of(model), backend);
            try (Evaluator ev = new Evaluator(train, normalize, new EvalOptions(c.imageSize(), c.evalResize(), false, c.evalBatchSize(), c.workers()),
                    backend)) {
                return ev.run(ens.models()).top1();
            }
        }
    }

    /** The means of a run's last epoch row (its metrics.jsonl), those of {@code names} that it has. */
    static Map<String, Double> lastEpoch(Path jsonl, List<String> names) throws IOException {
        JsonNode last = null;
        for (String line : Files.readAllLines(jsonl)) {
            if (line.isBlank()) continue;
            JsonNode n = Json.MAPPER.readTree(line);
            if ("epoch".equals(n.path("group").asText())) last = n;
        }
        Map<String, Double> out = new LinkedHashMap<>();
        if (last == null) return out;
        for (String k : names) if (last.has(k)) out.put(k, last.get(k).asDouble());
        return out;
    }

    /**
     * The split's images as indices into the source file (Fashion-MNIST's training file), for the
     * PyTorch twin; other data kinds are folders the twin reads itself, so nothing is written.
     */
    static void writeSplit(Path file, DataSpec.Splits data, long splitSeed) throws IOException {
        if (!(data.train() instanceof SubsetDataset train)) return;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("split_seed", splitSeed);
        m.put("source", "fashion-mnist train-images-idx3-ubyte");
        m.put("train", indices(train));
        if (data.val() instanceof SubsetDataset val) m.put("val", indices(val));
        Json.writeFile(file, m);
    }

    private static int[] indices(SubsetDataset d) {
        int[] out = new int[d.size()];
        for (int i = 0; i < out.length; i++) out[i] = d.baseIndex(i);
        return out;
    }

    static double cpuSeconds() {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() / 1e9 : Double.NaN;
    }
}
