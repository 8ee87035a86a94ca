package dvp.cli.train;

import dvp.cli.Dvp;
import dvp.cli.ResumeArgs;
import dvp.cli.SessionOptionsMixin;
import dvp.cli.perf.ProfileOptionsMixin;
import dvp.engine.spi.Backend;
import dvp.training.loop.OptimSpec;
import dvp.training.loop.ScheduleSpec;
import dvp.training.moco.PretrainConfig;
import dvp.training.moco.Pretrainer;
import dvp.training.perf.StepProfiler;
import dvp.training.pipeline.DataSpec;
import dvp.training.run.BadInputException;
import dvp.training.checkpoint.SafetensorsTensorFile;
import dvp.training.session.TrainingSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code dvp pretrain}: phase 1, MoCo v2 with the margin loss (ALGORITHMS §2). */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = {"Phase 1: MoCo v2 self-supervised pre-training with the margin loss on the training images (labels unused). "
                + "Writes a checkpoint after every epoch (the newest is kept) and, at the end, export/backbone.safetensors "
                + "(the query encoder without its MLP head, torchvision keys) for linear-eval, finetune and distill.",
                "Defaults are the paper's recipe: resnet50, 224 px, batch 256, SGD lr 0.03 momentum 0.9 wd 1e-4, cosine over 200 epochs, "
                        + "queue 4096, tau 0.2, margin 0.4, key momentum 0.999, split BN in 8 groups with key shuffling.",
                "Progress and metrics: loss; acc1_margin and acc5_margin, the top-1/top-5 of the positive key among [positive, queue] on the "
                        + "margin-adjusted logits (q.k+ - m, what the reference code prints as Acc@1/Acc@5; near 0 while the positive does not "
                        + "beat every negative by the margin); acc1 and acc5, the same on the plain cosines (q.k+), which show whether the "
                        + "encoder learns anything measurable.", ""})
public final class PretrainCommand implements Callable<Integer>, ResumeArgs.Resumable {
    @CommandLine.ParentCommand
    Dvp dvp;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    DataOptions data;

    @Mixin
    SplitOptions splitting;

    @Mixin
    ModelOptions model;

    @Mixin
    SessionOptionsMixin run;

    @Mixin
    ProfileOptionsMixin profiling;

    @Mixin
    CudaGraphOption graph;

    @Mixin
    ChannelsLastOption channelsLast;

    @Option(names = "--image-size", paramLabel = "PX", defaultValue = "224", description = "Crop size of both views. Default: ${DEFAULT-VALUE}.")
    int imageSize;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "200", description = "Epochs (the paper ran 800). Default: ${DEFAULT-VALUE}.")
    int epochs;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "256", description = "Images per step (drop_last). Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--lr", paramLabel = "LR", defaultValue = "0.03", description = "Base learning rate. Default: ${DEFAULT-VALUE}.")
    double lr;

    @Option(names = "--momentum", paramLabel = "M", defaultValue = "0.9", description = "SGD momentum. Default: ${DEFAULT-VALUE}.")
    double momentum;

    @Option(names = "--weight-decay", paramLabel = "WD", defaultValue = "1e-4", description = "Weight decay. Default: ${DEFAULT-VALUE}.")
    double weightDecay;

    @Option(names = "--schedule", paramLabel = "cosine|steps|constant", defaultValue = "cosine",
            description = "cosine (MoCo v2) or steps (the paper's literal x0.1 at --lr-milestones). Default: ${DEFAULT-VALUE}.")
    String schedule;

    @Option(names = "--lr-milestones", paramLabel = "E,E,...", split = ",", defaultValue = "120,160",
            description = "0-based epochs of the x0.1 steps with --schedule steps. Default: ${DEFAULT-VALUE}.")
    List<Integer> milestones;

    @Option(names = "--queue-size", paramLabel = "K", defaultValue = "4096", description = "Negatives in the queue; a multiple of the batch. Default: ${DEFAULT-VALUE}.")
    int queueSize;

    @Option(names = "--dim", paramLabel = "D", defaultValue = "128", description = "Embedding size of the MLP head. Default: ${DEFAULT-VALUE}.")
    int dim;

    @Option(names = "--temperature", paramLabel = "TAU", defaultValue = "0.2", description = "Softmax temperature. Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--margin", paramLabel = "M", defaultValue = "0.4", description = "Margin on the positive logit (0 = plain MoCo v2). Default: ${DEFAULT-VALUE}.")
    double margin;

    @Option(names = "--key-momentum", paramLabel = "ETA", defaultValue = "0.999", description = "EMA factor of the key encoder. Default: ${DEFAULT-VALUE}.")
    double keyMomentum;

    @Option(names = "--bn-splits", paramLabel = "S", defaultValue = "8",
            description = "Split-BN groups in both encoders, the single-device substitute of shuffle BN (1 = plain BN). Default: ${DEFAULT-VALUE}.")
    int bnSplits;

    @Option(names = "--shuffle-keys", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Permute the key batch before the key encoder and un-permute after (default: on).")
    boolean shuffleKeys;

    @Option(names = "--augmentation", paramLabel = "mocov2|mocov1", defaultValue = "mocov2", description = "View augmentation. Default: ${DEFAULT-VALUE}.")
    String augmentation;

    @Option(names = "--blur", paramLabel = "P", defaultValue = "0.5", description = "Probability of MoCo v2's Gaussian blur. Default: ${DEFAULT-VALUE}.")
    double blur;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "0", description = "Data-loading threads (0 = one per core).")
    int workers;

    @Option(names = "--log-every", paramLabel = "STEPS", defaultValue = "10", description = "Steps per metrics row. Default: ${DEFAULT-VALUE}.")
    int logEvery;

    PretrainConfig config() {
        // milestones only act on a step schedule: given with the default cosine they would be ignored
        var parsed = spec.commandLine().getParseResult();
        if (parsed != null && parsed.hasMatchedOption("--lr-milestones") && !schedule.equalsIgnoreCase("steps"))
            throw new BadInputException("--lr-milestones applies to --schedule steps only (the schedule is " + schedule
                    + "); add --schedule steps for the x0.1 steps");
        var m = model.spec("resnet50");
        return new PretrainConfig(m, imageSize, epochs, batchSize, new OptimSpec(lr, momentum, weightDecay, false),
                new ScheduleSpec(schedule, milestones, 0.1), queueSize, dim, temperature, margin, keyMomentum, bnSplits, shuffleKeys,
                augmentation, blur, workers, logEvery, dvp.seed()).validate();
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        PretrainConfig cfg = config();
        DataSpec.Splits splits = data.spec(dvp.seed(), splitting).open();
        StepProfiler.Options popts = profiling.toOptions(spec.commandLine());
        Backend be = StepProfiler.backendFor(run.compute.configure(dvp.device().select(err), err), popts);
        try (TrainingSession s = TrainingSession.open("pretrain", run.toSessionOptions(dvp.progress(), spec), cfg, be, SafetensorsTensorFile.INSTANCE,
                     WriterStream.of(err));
             StepProfiler prof = StepProfiler.open(be, popts, s.run().path().resolve("profile"), err);
             Pretrainer p = new Pretrainer(cfg, splits.train(), splits.normalize(), be, s)) {
            p.profiler(prof);
            p.cudaGraph(graph.enabled(popts.profile() || popts.nvtx()));
            p.channelsLast(channelsLast.enabled(be));
            Path backbone = p.train();
            out.println("pretrain: " + splits.description() + "; " + cfg.model().describe() + "; " + p.lastEpochMetricsLine());
            out.println("backbone: " + backbone);
            out.println("run folder: " + s.run().path());
        }
        return 0;
    }
}
