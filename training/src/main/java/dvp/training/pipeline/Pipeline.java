package dvp.training.pipeline;

import dvp.engine.spi.Backend;
import dvp.training.data.ImageDataset;
import dvp.training.data.UnlabeledImages;
import dvp.training.eval.EvalOptions;
import dvp.training.eval.EvalResult;
import dvp.training.eval.Evaluator;
import dvp.training.eval.Submission;
import dvp.training.moco.PretrainConfig;
import dvp.training.moco.Pretrainer;
import dvp.training.run.Json;
import dvp.training.session.SessionOptions;
import dvp.training.session.TrainingSession;
import dvp.training.supervised.ClassifierConfig;
import dvp.training.supervised.ClassifierTrainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs a {@link PipelineConfig}: each stage in its own run folder under the pipeline's folder
 * ({@code pretrain/}, {@code distill/}, {@code supervised/}, {@code linear/}, {@code finetune/}),
 * then the results table ({@code results.md}, {@code results.json}) and, for an unlabelled test
 * set, the submission of phase 1 + phase 2 ({@code submission.csv}).
 *
 * <p>Resumable as a whole: a stage that finished (its {@code result.json} exists) is not run
 * again; a stage with checkpoints continues from its last one. So re-running the same pipeline
 * on the same folder after a crash or Ctrl-C picks up where it stopped.
 */
public final class Pipeline {
    /** Table 1 of the paper (VIPriors val top-1, ResNet-50, 800 pre-training + 100 epochs). */
    static final double PAPER_SUPERVISED = 27.9, PAPER_LINEAR = 34.5, PAPER_FINETUNE = 39.4, PAPER_OURS = 44.6;

    private final PipelineConfig cfg;
    private final SessionOptions options;
    private final Backend backend;
    private final PrintStream log;
    private Path folder;
    private DataSpec.Splits data;

    /** The pipeline's results: one row per method in Table 1's order, the table, where it was written. */
    public record Result(Path folder, List<ResultRow> rows, String table, Path submission, double seconds, double cpuSeconds) {}

    /** CPU time of this process so far (all threads), for honest timings on a shared machine. */
    static double processCpuSeconds() {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() / 1e9 : Double.NaN;
    }

    /** What a finished stage recorded (its result.json). */
    record StageResult(String export, double valTop1Last, double valTop1Best, double testTop1, double testTop5, double seconds, int epochs) {}

    /**
     * @param options progress/TensorBoard/plot choices for every stage (run folders and resume are set here)
     */
    public Pipeline(PipelineConfig cfg, SessionOptions options, Backend backend, PrintStream log) {
        this.cfg = cfg;
        this.options = options;
        this.backend = backend;
        this.log = log;
    }

    /**
     * Checks every stage's settings and opens the data, so that bad input is reported before any
     * folder is made or any stage runs. {@link #run} calls it if the caller did not.
     */
    public Pipeline prepare() {
        if (data != null) return this;
        cfg.pretrain().validate();
        Path backbone = Path.of("pretrain", "export", "backbone.safetensors"); // written by stage 1
        for (ClassifierConfig c : cfg.compare() ? List.of(cfg.distill(), cfg.linear(), cfg.finetune()) : List.of(cfg.distill()))
            c.with(b -> { b.pretrained = backbone; b.model = null; }).validate(false);
        if (cfg.compare()) cfg.supervised().with(b -> { b.pretrained = null; b.model = cfg.pretrain().model(); b.mode = "finetune"; }).validate();
        data = cfg.data().open();
        cfg.pretrain().model().requireImageChannels(data.normalize().channels());
        // checked before any stage runs (a test folder missing one class, say, would fail only at the end)
        checkSameClasses("validation", data.val(), data.train());
        checkSameClasses("test", data.test(), data.train());
        return this;
    }

    private static void checkSameClasses(String split, ImageDataset d, ImageDataset train) {
        if (d != null && d.numClasses() > 0) ClassifierTrainer.requireSameClasses(split, d, train); // an unlabelled split has no labels to shift
    }

    /** Runs every stage in folder (reusing finished stages found there). */
    public Result run(Path folder) throws IOException {
        long t0 = System.nanoTime();
        double cpu0 = processCpuSeconds();
        prepare();
        this.folder = folder;
        Files.createDirectories(folder);
        Json.writeFile(folder.resolve("config.json"), TrainingSession.withCommandLine(cfg, options.commandLine()));
        log.println("dvp: data: " + data.description());
        int stages = cfg.compare() ? 5 : 2, n = 0;

        PretrainConfig pcfg = cfg.pretrain().validate();
        log.println("dvp: stage " + (++n) + "/" + stages + ": pretrain (phase 1: MoCo v2, margin " + pcfg.margin() + ", "
                + pcfg.model().describe() + ", " + pcfg.epochs() + " epochs)");
        StageResult pre = stage("pretrain", pcfg, session -> {
            try (Pretrainer p = new Pretrainer(pcfg, data.train(), data.normalize(), backend, session)) {
                Path backbone = p.train();
                return new StageResult(backbone.toAbsolutePath().toString(), Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0, pcfg.epochs());
            }
        });
        Path backbone = Path.of(pre.export());

        List<ResultRow> rows = new ArrayList<>();
        ResultRow ours, sup = null, lin = null, fin = null;
        ClassifierConfig dcfg = cfg.distill().with(b -> { b.pretrained = backbone; b.model = null; });
        log.println("dvp: stage " + (++n) + "/" + stages + ": distill (phase 2: self-distillation, " + dcfg.epochs() + " epochs)");
        ours = row("Phase-1 + Phase-2 (ours)", "distill", dcfg, pcfg.epochs(), PAPER_OURS, data, true);
        if (cfg.compare()) {
            ClassifierConfig scfg = cfg.supervised().with(b -> { b.pretrained = null; b.model = pcfg.model(); b.mode = "finetune"; });
            log.println("dvp: stage " + (++n) + "/" + stages + ": supervised baseline (random init, " + scfg.epochs() + " epochs)");
            sup = row("Supervised (random init)", "supervised", scfg, 0, PAPER_SUPERVISED, data, false);
            ClassifierConfig lcfg = cfg.linear().with(b -> { b.pretrained = backbone; b.model = null; b.mode = "linear"; });
            log.println("dvp: stage " + (++n) + "/" + stages + ": linear classifier on the frozen phase-1 backbone (" + lcfg.epochs() + " epochs)");
            lin = row("Phase-1 + linear (finetune fc)", "linear", lcfg, pcfg.epochs(), PAPER_LINEAR, data, false);
            ClassifierConfig fcfg = cfg.finetune().with(b -> { b.pretrained = backbone; b.model = null; b.mode = "finetune"; });
            log.println("dvp: stage " + (++n) + "/" + stages + ": fine-tune the phase-1 network (" + fcfg.epochs() + " epochs)");
            fin = row("Phase-1 + finetune", "finetune", fcfg, pcfg.epochs(), PAPER_FINETUNE, data, false);
        }
        for (ResultRow r : new ResultRow[]{sup, lin, fin, ours}) if (r != null) rows.add(r);

        Path submission = null;
        if (data.test() instanceof UnlabeledImages test) submission = folder.resolve("submission.csv");
        if (submission != null && !Files.exists(submission)) writeSubmission(ours, test(data), submission, data);

        String title = "Results: " + data.description() + "; " + pcfg.model().describe() + ", " + pcfg.imageSize() + " px"
                + (cfg.testTenCrop() ? "; test with TenCrop" : "");
        String table = ResultsTable.markdown(title, rows, "Test")
                + "\nTime: each row's own training and evaluation; phase 1 (" + pcfg.epochs() + " epochs, shared by the Phase-1 rows) took "
                + ResultsTable.duration(pre.seconds()) + ". Val and test: centre crop" + (cfg.testTenCrop() ? " (test: TenCrop)" : "")
                + ", the last epoch's model (best: the best validated epoch). Paper: Table 1 (VIPriors, ResNet-50, 800 + 100 epochs), for reference.\n";
        Files.writeString(folder.resolve("results.md"), table, StandardCharsets.UTF_8);
        Json.writeFile(folder.resolve("results.json"), Map.of("rows", rows, "data", data.description()));
        return new Result(folder, rows, table, submission, (System.nanoTime() - t0) / 1e9, processCpuSeconds() - cpu0);
    }

    private static UnlabeledImages test(DataSpec.Splits data) { return (UnlabeledImages) data.test(); }

    private void writeSubmission(ResultRow ours, UnlabeledImages test, Path csv, DataSpec.Splits data) throws IOException {
        try (var scope = dvp.engine.Scope.open("submission")) {
            var ens = dvp.training.eval.Classifiers.load(List.of(Path.of(ours.model())), backend);
            ClassifierConfig d = cfg.distill();
            try (Evaluator ev = new Evaluator(test, data.normalize(), new EvalOptions(d.imageSize(), d.evalResize(), cfg.testTenCrop(),
                    d.evalBatchSize(), d.workers()), backend)) {
                EvalResult r = ev.run(ens.models(), ens.origins());
                int rowsWritten = Submission.write(csv, test, r.predictions(), ens.classes());
                log.println("dvp: wrote " + csv + " (" + rowsWritten + " rows, every test image once)");
            }
        }
    }

    /** Runs (or reuses) one labelled stage and evaluates its final model on the test set. */
    private ResultRow row(String method, String name, ClassifierConfig c, int pretrainEpochs, double paper, DataSpec.Splits data, boolean main)
            throws IOException {
        StageResult r = stage(name, c, session -> {
            long t0 = System.nanoTime();
            try (ClassifierTrainer t = new ClassifierTrainer(c, data.train(), data.val(), data.normalize(), backend, session)) {
                Path model = t.train();
                double last = t.lastValidation() == null ? Double.NaN : t.lastValidation().top1();
                double best = session.checkpoints().best().map(b -> b.value()).orElse(Double.NaN);
                double top1 = Double.NaN, top5 = Double.NaN;
                if (data.test() != null && data.test().numClasses() > 0) {
                    try (Evaluator ev = new Evaluator(data.test(), data.normalize(),
                            new EvalOptions(c.imageSize(), c.evalResize(), cfg.testTenCrop(), c.evalBatchSize(), c.workers()), backend)) {
                        EvalResult er = ev.run(t.model());
                        top1 = er.top1();
                        top5 = er.top5();
                    }
                }
                return new StageResult(model.toAbsolutePath().toString(), last, best, top1, top5, (System.nanoTime() - t0) / 1e9, c.epochs());
            }
        });
        log.println("dvp: " + method + ": val top-1 " + dvp.training.loop.MetricsFormat.percent(r.valTop1Last())
                + (Double.isNaN(r.testTop1()) ? "" : ", test top-1 " + dvp.training.loop.MetricsFormat.percent(r.testTop1())));
        return new ResultRow(method, pretrainEpochs, r.epochs(), r.valTop1Last(), r.valTop1Best(), r.testTop1(), r.testTop5(), r.seconds(), paper, r.export());
    }

    private interface StageBody { StageResult run(TrainingSession s) throws IOException; }

    private StageResult stage(String name, Object config, StageBody body) throws IOException {
        Path dir = folder.resolve(name), done = dir.resolve("result.json");
        if (Files.exists(done)) {
            log.println("dvp: " + name + " already finished in " + dir + "; reusing it");
            return Json.MAPPER.treeToValue(Json.readFile(done), StageResult.class);
        }
        boolean resume = Files.exists(dir.resolve("checkpoints").resolve("last"));
        // the pipeline's folder records its command line; a stage's folder is resumed by the pipeline
        SessionOptions so = options.withRunDir(dir).withResume(resume ? dir : null).withCommandLine(null);
        long t0 = System.nanoTime();
        double cpu0 = processCpuSeconds();
        StageResult r;
        try (TrainingSession s = TrainingSession.open(name, so, config, backend)) {
            r = body.run(s);
        }
        log.printf(java.util.Locale.ROOT, "dvp: %s took %.0f s (%.0f CPU-s)%n", name, (System.nanoTime() - t0) / 1e9, processCpuSeconds() - cpu0);
        if (r.seconds() == 0) r = new StageResult(r.export(), r.valTop1Last(), r.valTop1Best(), r.testTop1(), r.testTop5(), (System.nanoTime() - t0) / 1e9, r.epochs());
        Json.writeFile(done, r);
        return r;
    }
}
