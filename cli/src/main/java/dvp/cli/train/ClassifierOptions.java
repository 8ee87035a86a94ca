package dvp.cli.train;

import dvp.training.loop.OptimSpec;
import dvp.training.loop.ScheduleSpec;
import dvp.training.run.BadInputException;
import dvp.training.supervised.ClassifierConfig;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Options of the labelled phases (linear-eval, finetune, distill). Unset options keep the phase's
 * own recipe ({@link ClassifierConfig#linearEval()}, {@link ClassifierConfig#finetune()},
 * {@link ClassifierConfig#distillation()}), which the help of each command states.
 */
public final class ClassifierOptions {
    @Option(names = "--pretrained", paramLabel = "PATH",
            description = "Phase-1 weights: export/backbone.safetensors of a pretrain run, a checkpoint, or a run folder. The network "
                    + "(--arch, --in-channels, --small-stem, --width, --blocks) and --image-size come from them unless given.")
    Path pretrained;

    @Option(names = "--image-size", paramLabel = "PX", description = "Training crop size (224; 448 for the competition).")
    Integer imageSize;

    @Option(names = "--eval-resize", paramLabel = "PX", description = "Shorter side before the evaluation centre crop. Default: image size / 0.875.")
    Integer evalResize;

    @Option(names = "--epochs", paramLabel = "N", description = "Training epochs (100). Learning-rate steps scale with it.")
    Integer epochs;

    @Option(names = "--batch-size", paramLabel = "N", description = "Images per step (256).")
    Integer batchSize;

    @Option(names = "--drop-last", description = "Drop the last incomplete batch of every epoch (DVP keeps it).")
    Boolean dropLast;

    @Option(names = "--lr", paramLabel = "LR", description = "Base learning rate (linear-eval 30, finetune/distill 0.1).")
    Double lr;

    @Option(names = "--momentum", paramLabel = "M", description = "SGD momentum (0.9).")
    Double momentum;

    @Option(names = "--weight-decay", paramLabel = "WD", description = "Weight decay (linear-eval 0, finetune/distill 1e-4).")
    Double weightDecay;

    @Option(names = "--nesterov", negatable = true, description = "Nesterov momentum (finetune/distill: on; linear-eval: off).")
    Boolean nesterov;

    @Option(names = "--schedule", paramLabel = "cosine|steps|constant",
            description = "Learning-rate schedule. Default: steps (x0.1 at 60%%/80%% of the epochs for linear-eval, at 1-based 30%%/60%%/90%% otherwise); "
                    + "steps without --lr-milestones keeps those milestones.")
    String schedule;

    @Option(names = "--lr-milestones", paramLabel = "E,E,...", split = ",", description = "0-based epochs of the x gamma steps (with --schedule steps).")
    List<Integer> milestones;

    @Option(names = "--lr-gamma", paramLabel = "G", description = "Factor at each milestone (with --schedule steps). Default: 0.1.")
    Double gamma;

    @Option(names = "--label-smoothing", paramLabel = "EPS", description = "Label smoothing (0; the competition used 0.1).")
    Double labelSmoothing;

    @Option(names = "--auto-augment", paramLabel = "none|dvp|cifar10|imagenet",
            description = "AutoAugment after crop and flip: dvp (the CIFAR-10 policy as DVP ran it), or torchvision's cifar10/imagenet. Default: none.")
    String autoAugment;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "0", description = "Data-loading threads (0 = one per core).")
    int workers;

    @Option(names = "--log-every", paramLabel = "STEPS", defaultValue = "10", description = "Steps per metrics row. Default: ${DEFAULT-VALUE}.")
    int logEvery;

    @Option(names = "--eval-every", paramLabel = "EPOCHS", defaultValue = "1", description = "Validate every N epochs (and after the last). Default: ${DEFAULT-VALUE}.")
    int evalEvery;

    @Option(names = "--eval-batch-size", paramLabel = "N", defaultValue = "256", description = "Images per evaluation batch. Default: ${DEFAULT-VALUE}.")
    int evalBatchSize;

    ClassifierConfig apply(ClassifierConfig base, long seed) {
        ClassifierConfig c = base.with(b -> {
            if (pretrained != null) b.pretrained = pretrained;
            if (imageSize != null) b.imageSize = imageSize;
            if (evalResize != null) b.evalResize = evalResize;
            if (epochs != null) b.epochs = epochs;
            if (batchSize != null) b.batchSize = batchSize;
            if (dropLast != null) b.dropLast = dropLast;
            OptimSpec o = b.optim;
            if (lr != null) o = o.withLr(lr);
            if (momentum != null) o = new OptimSpec(o.lr(), momentum, o.weightDecay(), o.nesterov());
            if (weightDecay != null) o = o.withWeightDecay(weightDecay);
            if (nesterov != null) o = o.withNesterov(nesterov);
            b.optim = o;
            if (labelSmoothing != null) b.labelSmoothing = labelSmoothing;
            if (autoAugment != null) b.autoAugment = autoAugment;
            b.workers = workers;
            b.logEvery = logEvery;
            b.evalEvery = evalEvery;
            b.evalBatchSize = evalBatchSize;
            b.seed = seed;
        });
        return withSchedule(c);
    }

    /**
     * The phase's recipe unless a schedule option is given. {@code steps} without milestones keeps the
     * recipe's milestones (scaled to the epochs) so that {@code --schedule steps} and {@code --lr-gamma}
     * alone mean what the help says instead of a constant lr; milestones or a gamma with a schedule
     * that has no steps would be ignored, so they are errors.
     */
    private ClassifierConfig withSchedule(ClassifierConfig c) {
        if (schedule == null && milestones == null && gamma == null) return c;
        String kind = (schedule != null ? schedule : "steps").toLowerCase(Locale.ROOT);
        if ((kind.equals("cosine") || kind.equals("constant")) && (milestones != null || gamma != null))
            throw new BadInputException((milestones != null ? "--lr-milestones" : "--lr-gamma") + " applies to --schedule steps only, not "
                    + kind);
        List<Integer> m = milestones;
        if (m == null && kind.equals("steps")) m = c.with(b -> b.schedule = null).effectiveSchedule().milestones();
        ScheduleSpec spec = new ScheduleSpec(kind, m, gamma != null ? gamma : 0.1);
        return c.with(b -> b.schedule = spec);
    }
}
