package dvp.cli.train;

import dvp.cli.Dvp;
import dvp.cli.SessionOptionsMixin;
import dvp.training.distill.DistillSpec;
import dvp.training.run.BadInputException;
import dvp.training.session.SessionOptions;
import dvp.training.study.Study;
import dvp.training.study.StudyConfig;
import dvp.training.study.StudyRegimes;
import dvp.training.study.StudyReport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code dvp study}: Table 1's four rows over several seeds, with intervals (issue 20). */
@Command(name = "study", mixinStandardHelpOptions = true,
        description = {"Runs Table 1's four rows (supervised, phase 1 + linear, phase 1 + finetune, phase 1 + phase 2) once per seed on "
                + "Fashion-MNIST and reports, per row, the mean over seeds with its sample standard deviation and 95%% confidence interval "
                + "(Student t), and the paired difference phase 2 - finetune per seed with its interval: results.md, results.json and "
                + "results.png in the study's folder, rewritten after every seed. Each seed is a whole pipeline in seed-<s>/.",
                "--vary training (default) keeps one train/val split and varies the training seed; --vary split draws a new split per seed too.",
                "--resume FOLDER continues a stopped study (finished seeds are reused, a started one resumes) and may raise --seeds; "
                        + "--twin DIR adds the PyTorch twin's seeds (bench/pytorch/dvp_twin.py) side by side with the fidelity verdict per row.",
                "Phase 1 reports acc1_margin/acc5_margin (the positive's top-1/top-5 on the margin-adjusted logits, what the reference code prints) "
                        + "and acc1/acc5 (on the plain cosines). See docs/study.md.", ""})
public final class StudyCommand implements Callable<Integer> {
    @CommandLine.ParentCommand
    Dvp dvp;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    SessionOptionsMixin run;

    @Option(names = "--regime", paramLabel = "NAME", description = "The configuration to start from: ${COMPLETION-CANDIDATES}. Default: overfit.",
            completionCandidates = Regimes.class)
    String regime;

    @Option(names = "--seeds", paramLabel = "N", description = "Number of seeds. Default: 5.")
    Integer seeds;

    @Option(names = "--first-seed", paramLabel = "S", description = "The first seed (the others follow). Default: --seed (0).")
    Long firstSeed;

    @Option(names = "--vary", paramLabel = "training|split", description = "What a seed changes: the training only (one split) or the split too. Default: training.")
    String vary;

    @Option(names = "--split-seed", paramLabel = "S", description = "The split's seed with --vary training. Default: 0.")
    Long splitSeed;

    @Option(names = "--fashion-mnist", paramLabel = "DIR", description = "Folder of the Fashion-MNIST IDX files. Default: /usr/share/datasets/fashion-mnist.")
    Path fashionMnist;

    @Option(names = "--per-class", paramLabel = "N", description = "Training images per class (the regime's).")
    Integer perClass;

    @Option(names = "--val-per-class", paramLabel = "N", description = "Validation images per class (the regime's).")
    Integer valPerClass;

    @Option(names = "--pretrain-epochs", paramLabel = "N", description = "Phase-1 epochs (the regime's).")
    Integer pretrainEpochs;

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs of phase 2, finetune and the supervised baseline (the regime's).")
    Integer epochs;

    @Option(names = "--linear-epochs", paramLabel = "N", description = "Epochs of the linear classifier (the regime's).")
    Integer linearEpochs;

    @Option(names = "--width", paramLabel = "M", description = "Width multiplier of the ResNet (the regime's).")
    Double width;

    @Option(names = "--blocks", paramLabel = "N", description = "Residual blocks per stage (the regime's).")
    Integer blocks;

    @Option(names = "--batch-size", paramLabel = "N", description = "Batch of every phase (the regime's).")
    Integer batchSize;

    @Option(names = "--queue-size", paramLabel = "K", description = "Phase-1 queue (the regime's; a multiple of the batch).")
    Integer queueSize;

    @Option(names = "--distill-lambda", paramLabel = "L", description = "Phase 2's λ (the regime's: 1e-4).")
    Double lambda;

    @Option(names = "--distill-warmup", paramLabel = "EPOCHS", description = "Phase 2's cross-entropy-only epochs (the regime's).")
    Integer warmup;

    @Option(names = "--teacher-mode", paramLabel = "train|eval", description = "Phase 2's teacher BN mode (the regime's: train).")
    String teacherMode;

    @Option(names = "--stage-weights", paramLabel = "W,W,W,W", split = ",", description = "Phase 2's stage weights (the regime's: 0.125,0.25,0.5,1).")
    List<Double> stageWeights;

    @Option(names = "--distill-margins", paramLabel = "bn|zero", description = "Phase 2's teacher margins (the regime's: bn).")
    String margins;

    @Option(names = "--connectors", paramLabel = "conv-bn|identity", description = "Phase 2's connectors (the regime's: conv-bn).")
    String connectors;

    @Option(names = "--reuse", paramLabel = "STUDY",
            description = "Another study folder whose finished stages are reused where this study's settings for them are the same "
                    + "(same seed, data and phase 1): an ablation of phase 2 then trains only phase 2.")
    Path reuse;

    @Option(names = "--twin", paramLabel = "DIR", description = "The PyTorch twin's output folder (its seed-<s>/seed.json files) to report side by side.")
    Path twin;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "0", description = "Data-loading threads (0 = one per core).")
    int workers;

    /** The regime names for --help and completion. */
    static final class Regimes extends ArrayList<String> {
        Regimes() { super(StudyRegimes.names()); }
    }

    /** The options that describe the study itself (everything but --seeds, --twin and the run folders). */
    private List<String> regimeOptionsGiven() {
        List<String> given = new ArrayList<>();
        Object[][] all = {{"--regime", regime}, {"--first-seed", firstSeed}, {"--vary", vary}, {"--split-seed", splitSeed},
                {"--fashion-mnist", fashionMnist}, {"--per-class", perClass}, {"--val-per-class", valPerClass},
                {"--pretrain-epochs", pretrainEpochs}, {"--epochs", epochs}, {"--linear-epochs", linearEpochs}, {"--width", width},
                {"--blocks", blocks}, {"--batch-size", batchSize}, {"--queue-size", queueSize}, {"--distill-lambda", lambda},
                {"--distill-warmup", warmup}, {"--teacher-mode", teacherMode}, {"--stage-weights", stageWeights},
                {"--distill-margins", margins}, {"--connectors", connectors}};
        for (Object[] o : all) if (o[1] != null) given.add((String) o[0]);
        return given;
    }

    StudyConfig config() {
        StudyRegimes.Overrides o = new StudyRegimes.Overrides(fashionMnist, perClass, valPerClass, pretrainEpochs, epochs, linearEpochs, width,
                blocks, batchSize, queueSize, workers);
        var pipeline = StudyRegimes.pipeline(regime == null ? StudyRegimes.DEFAULT : regime, o);
        if (lambda != null || warmup != null || teacherMode != null || stageWeights != null || margins != null || connectors != null)
            pipeline = pipeline.withDistill(c -> c.with(b -> {
                DistillSpec d = b.distill;
                if (lambda != null) d = d.withLambda(lambda);
                if (warmup != null) d = d.withWarmupEpochs(warmup);
                if (teacherMode != null) d = d.withTeacherMode(teacherMode);
                if (stageWeights != null) d = d.withStageWeights(stageWeights);
                if (margins != null) d = d.withMargins(margins);
                if (connectors != null) d = d.withConnectors(connectors);
                b.distill = d;
            }));
        String name = regime == null ? StudyRegimes.DEFAULT : regime;
        List<String> changed = regimeOptionsGiven();
        changed.remove("--regime");
        if (!changed.isEmpty()) name += " (" + String.join(" ", describeChanges()) + ")";
        return new StudyConfig(name, pipeline, seeds != null ? seeds : 5, firstSeed != null ? firstSeed : dvp.seed(), vary, splitSeed != null ? splitSeed : 0)
                .validate();
    }

    private List<String> describeChanges() {
        List<String> out = new ArrayList<>();
        Object[][] all = {{"--first-seed", firstSeed}, {"--vary", vary}, {"--split-seed", splitSeed}, {"--per-class", perClass},
                {"--val-per-class", valPerClass}, {"--pretrain-epochs", pretrainEpochs}, {"--epochs", epochs}, {"--linear-epochs", linearEpochs},
                {"--width", width}, {"--blocks", blocks}, {"--batch-size", batchSize}, {"--queue-size", queueSize}, {"--distill-lambda", lambda},
                {"--distill-warmup", warmup}, {"--teacher-mode", teacherMode},
                {"--stage-weights", stageWeights == null ? null : String.join(",", stageWeights.stream().map(String::valueOf).toList())},
                {"--distill-margins", margins}, {"--connectors", connectors}};
        for (Object[] o : all) if (o[1] != null) out.add(o[0] + " " + o[1]);
        return out;
    }

    @Override
    public Integer call() throws Exception {
        var err = spec.commandLine().getErr();
        var out = spec.commandLine().getOut();
        SessionOptions given = run.toSessionOptions(dvp.progress(), spec);
        Path resume = given.resume();
        SessionOptions so = given.withResume(null); // stages resume by themselves inside the study folder
        StudyConfig cfg;
        Path folder;
        if (resume != null) {
            folder = resume;
            List<String> fixed = regimeOptionsGiven();
            if (!fixed.isEmpty())
                throw new BadInputException("a resumed study keeps the settings it was started with (its study.json); only --seeds, --reuse and --twin "
                        + "may be given with --resume, not " + String.join(", ", fixed));
            cfg = Study.readConfig(folder);
            if (seeds != null) cfg = cfg.withSeeds(seeds);
        } else {
            cfg = config();
            folder = null;
        }
        PrintStream log = new PrintStream(new java.io.OutputStream() {
            @Override public void write(int b) { err.write(b); }
            @Override public void write(byte[] b, int off, int len) { err.write(new String(b, off, len, StandardCharsets.UTF_8)); }
            @Override public void flush() { err.flush(); }
        }, true, StandardCharsets.UTF_8);
        Study study = new Study(cfg, so, run.compute.configure(dvp.device().select(err), err), log).prepare();
        if (reuse != null) study.reusing(reuse);
        if (folder == null) folder = PipelineRunner.folder(so, "study");
        err.println("dvp: study folder " + folder + " (" + cfg.seeds() + " seeds" + (resume != null ? "; finished seeds are reused" : "") + ")");
        err.flush();
        Study.Result r = study.run(folder);
        StudyReport report = r.report();
        if (twin != null) {
            report = StudyReport.of(cfg, r.seeds(), Study.readSeeds(twin));
            report.write(folder);
        }
        out.println();
        out.println(report.markdown());
        out.printf(Locale.ROOT, "study time %s (this invocation), results in %s%n", PipelineRunner.duration(r.seconds()), folder.resolve("results.md"));
        out.flush();
        return 0;
    }
}
