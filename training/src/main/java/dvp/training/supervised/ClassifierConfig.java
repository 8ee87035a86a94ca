package dvp.training.supervised;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dvp.training.data.transforms.AutoAugment;
import dvp.training.distill.DistillSpec;
import dvp.training.loop.OptimSpec;
import dvp.training.loop.ScheduleSpec;
import dvp.training.model.ModelSpec;
import dvp.training.run.BadInputException;

import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Settings of the labelled phases, one record for all of them because they share the loop:
 * <ul>
 *   <li>{@link #linearEval()} — {@code dvp linear-eval} (§6.1): frozen backbone in eval mode, new fc
 *       N(0, 0.01), SGD lr 30 momentum 0.9 wd 0, ×0.1 at epochs 60 and 80 of 100;</li>
 *   <li>{@link #finetune()} — {@code dvp finetune} (§6.2), and the supervised baseline when
 *       {@code pretrained} is null (§6.3): every layer, SGD lr 0.1 Nesterov wd 1e-4, ×0.1 when the
 *       1-based epoch reaches 30, 60, 90;</li>
 *   <li>{@link #distillation()} — {@code dvp distill}, phase 2 (§3): fine-tuning plus OFD from the frozen
 *       teacher ({@link DistillSpec}).</li>
 * </ul>
 * A null {@code schedule} means the phase's own schedule scaled to {@code epochs}; a null
 * {@code model} means the network recorded with the pretrained weights.
 *
 * @param mode          {@code linear}, {@code finetune} or {@code distill}
 * @param pretrained    backbone weights (a file from pretrain, a checkpoint or run folder), or null for random init
 * @param evalResize    shorter side before the centre crop at evaluation (0 = int(size/0.875))
 * @param autoAugment   {@code none}, {@code dvp} (the DVP CIFAR-10 policy, §4.3), {@code cifar10} or {@code imagenet} (torchvision's)
 * @param evalEvery     evaluate on the validation set every this many epochs (and after the last)
 */
public record ClassifierConfig(String mode, ModelSpec model, Path pretrained, int imageSize, int evalResize, int epochs, int batchSize,
                               boolean dropLast, OptimSpec optim, ScheduleSpec schedule, double labelSmoothing, String autoAugment,
                               DistillSpec distill, int workers, int logEvery, int evalEvery, int evalBatchSize, long seed) {
    public ClassifierConfig {
        mode = mode == null ? "finetune" : mode.toLowerCase(Locale.ROOT);
        autoAugment = autoAugment == null ? "none" : autoAugment.toLowerCase(Locale.ROOT);
    }

    public static ClassifierConfig linearEval() {
        return new ClassifierConfig("linear", null, null, 224, 0, 100, 256, false, new OptimSpec(30, 0.9, 0, false), null,
                0, "none", null, 0, 10, 1, 256, 0);
    }

    public static ClassifierConfig finetune() {
        return new ClassifierConfig("finetune", null, null, 224, 0, 100, 256, false, new OptimSpec(0.1, 0.9, 1e-4, true), null,
                0, "none", null, 0, 10, 1, 256, 0);
    }

    /** The supervised baseline: {@link #finetune()} from random init of {@code model}. */
    public static ClassifierConfig supervised(ModelSpec model) { return finetune().with(b -> b.model = model); }

    public static ClassifierConfig distillation() { return finetune().with(b -> { b.mode = "distill"; b.distill = DistillSpec.defaults(); }); }

    public ClassifierConfig with(Consumer<Builder> change) {
        Builder b = new Builder(this);
        change.accept(b);
        return b.build();
    }

    // @JsonIgnore: as bean getters these would be written as "linear"/"distill" booleans, and
    // "distill" would replace the distillation settings of the same name in config.json
    @JsonIgnore
    public boolean isLinear() { return mode.equals("linear"); }

    @JsonIgnore
    public boolean isDistill() { return mode.equals("distill"); }

    /** The schedule to run: the configured one, or the phase's recipe scaled to the epochs. */
    public ScheduleSpec effectiveSchedule() {
        if (schedule != null) return schedule;
        return isLinear() ? ScheduleSpec.stepsAtZeroBased(epochs, 0.6, 0.8) : ScheduleSpec.stepsAtOneBased(epochs, 0.3, 0.6, 0.9);
    }

    /** The AutoAugment policy, or null for none. */
    public AutoAugment.Policy autoAugmentPolicy() {
        return switch (autoAugment) {
            case "none" -> null;
            case "dvp" -> AutoAugment.Policy.DVP_CIFAR10;
            case "cifar10" -> AutoAugment.Policy.TORCHVISION_CIFAR10;
            case "imagenet" -> AutoAugment.Policy.TORCHVISION_IMAGENET;
            default -> throw new BadInputException("--auto-augment must be none, dvp, cifar10 or imagenet, got '" + autoAugment + "'");
        };
    }

    /** Every setting checked, the weight files included; problems are one-line {@link BadInputException}s. */
    public ClassifierConfig validate() { return validate(true); }

    /**
     * @param checkFiles whether the pretrained/teacher weights must exist now (false for a stage of
     *                   a pipeline whose phase 1 has not written them yet)
     */
    public ClassifierConfig validate(boolean checkFiles) {
        if (!mode.equals("linear") && !mode.equals("finetune") && !mode.equals("distill"))
            throw new BadInputException("mode must be linear, finetune or distill, got '" + mode + "'");
        if ((isLinear() || isDistill()) && pretrained == null)
            throw new BadInputException((isLinear() ? "linear-eval" : "distill") + " needs --pretrained weights (the phase-1 backbone)");
        if (model == null && pretrained == null)
            throw new BadInputException("either --pretrained weights or --arch (for training from scratch) is required");
        if (model != null) model.validate();
        if (checkFiles && pretrained != null && !java.nio.file.Files.exists(pretrained))
            throw new BadInputException("--pretrained " + pretrained + ": no such file or folder");
        optim.validate();
        effectiveSchedule().validate();
        if (imageSize < 8) throw new BadInputException("--image-size must be at least 8, got " + imageSize);
        if (evalResize != 0 && evalResize < imageSize) throw new BadInputException("--eval-resize " + evalResize + " is smaller than --image-size " + imageSize);
        if (epochs < 1) throw new BadInputException("--epochs must be at least 1, got " + epochs);
        if (batchSize < 1) throw new BadInputException("--batch-size must be positive, got " + batchSize);
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new BadInputException("--label-smoothing must be in [0, 1), got " + labelSmoothing);
        autoAugmentPolicy();
        if (isDistill()) {
            if (distill == null) throw new BadInputException("distill mode needs distillation settings");
            distill.validate();
            if (checkFiles && distill.teacher() != null && !java.nio.file.Files.exists(distill.teacher()))
                throw new BadInputException("--teacher " + distill.teacher() + ": no such file or folder");
        }
        if (workers < 0) throw new BadInputException("--workers must be >= 0 (0 = one per core), got " + workers);
        if (logEvery < 1) throw new BadInputException("--log-every must be at least 1, got " + logEvery);
        if (evalEvery < 1) throw new BadInputException("--eval-every must be at least 1, got " + evalEvery);
        if (evalBatchSize < 1) throw new BadInputException("--eval-batch-size must be positive, got " + evalBatchSize);
        return this;
    }

    /** Mutable fields for {@link #with}. */
    public static final class Builder {
        public String mode, autoAugment;
        public ModelSpec model;
        public Path pretrained;
        public int imageSize, evalResize, epochs, batchSize, workers, logEvery, evalEvery, evalBatchSize;
        public boolean dropLast;
        public OptimSpec optim;
        public ScheduleSpec schedule;
        public double labelSmoothing;
        public DistillSpec distill;
        public long seed;

        Builder(ClassifierConfig c) {
            mode = c.mode; model = c.model; pretrained = c.pretrained; imageSize = c.imageSize; evalResize = c.evalResize; epochs = c.epochs;
            batchSize = c.batchSize; dropLast = c.dropLast; optim = c.optim; schedule = c.schedule; labelSmoothing = c.labelSmoothing;
            autoAugment = c.autoAugment; distill = c.distill; workers = c.workers; logEvery = c.logEvery; evalEvery = c.evalEvery;
            evalBatchSize = c.evalBatchSize; seed = c.seed;
        }

        ClassifierConfig build() {
            return new ClassifierConfig(mode, model, pretrained, imageSize, evalResize, epochs, batchSize, dropLast, optim, schedule,
                    labelSmoothing, autoAugment, distill, workers, logEvery, evalEvery, evalBatchSize, seed);
        }
    }
}
