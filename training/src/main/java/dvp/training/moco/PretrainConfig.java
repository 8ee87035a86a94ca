package dvp.training.moco;

import dvp.training.loop.OptimSpec;
import dvp.training.loop.ScheduleSpec;
import dvp.training.model.ModelSpec;
import dvp.training.run.BadInputException;

import java.util.function.Consumer;

/**
 * Phase 1 (MoCo v2 + margin) settings; {@link #defaults()} is the recipe of ALGORITHMS §2 and §5:
 * ResNet-50, 224 px, batch 256, SGD lr 0.03 momentum 0.9 wd 1e-4, cosine schedule over 200 epochs
 * (the paper's literal ×0.1 at epochs 120 and 160 is {@code ScheduleSpec.steps(0.1, 120, 160)}),
 * K = 4096, dim 128, τ = 0.2, m = 0.4 (0 = plain MoCo v2), η = 0.999, split BN in 8 groups with
 * key shuffling, MoCo v2 augmentation. Change fields with {@link #with}.
 *
 * @param augmentation  {@code mocov2} (aug-plus, §4.1) or {@code mocov1}
 * @param blurProbability probability of the Gaussian blur of MoCo v2's augmentation (0.5)
 * @param bnSplits      BN groups of the single-device shuffle-BN substitute (1 = plain BN)
 * @param shuffleKeys   permute x_k before the key encoder and un-permute the keys after
 * @param workers       loader threads (0 = one per core)
 * @param logEvery      steps per metrics row (the loss is read from the device once per row)
 */
public record PretrainConfig(ModelSpec model, int imageSize, int epochs, int batchSize, OptimSpec optim, ScheduleSpec schedule,
                             int queueSize, int dim, double temperature, double margin, double keyMomentum, int bnSplits,
                             boolean shuffleKeys, String augmentation, double blurProbability, int workers, int logEvery, long seed) {

    public static PretrainConfig defaults() {
        return new PretrainConfig(ModelSpec.of("resnet50"), 224, 200, 256, new OptimSpec(0.03, 0.9, 1e-4, false), ScheduleSpec.cosine(),
                4096, 128, 0.2, 0.4, 0.999, 8, true, "mocov2", 0.5, 0, 10, 0);
    }

    /** A copy with the fields the consumer sets, e.g. {@code cfg.with(b -> { b.epochs = 10; b.batchSize = 64; })}. */
    public PretrainConfig with(Consumer<Builder> change) {
        Builder b = new Builder(this);
        change.accept(b);
        return b.build();
    }

    /** Every problem is a one-line {@link BadInputException} naming the option. */
    public PretrainConfig validate() {
        model.validate();
        optim.validate();
        schedule.validate();
        if (imageSize < 8) throw new BadInputException("--image-size must be at least 8, got " + imageSize);
        if (epochs < 1) throw new BadInputException("--epochs must be at least 1, got " + epochs);
        if (batchSize < 2) throw new BadInputException("--batch-size must be at least 2 (MoCo needs negatives in the batch's BN), got " + batchSize);
        if (queueSize < 1) throw new BadInputException("--queue-size must be positive, got " + queueSize);
        if (queueSize % batchSize != 0)
            throw new BadInputException("--queue-size " + queueSize + " is not a multiple of --batch-size " + batchSize
                    + " (MoCo enqueues whole batches: K % batch must be 0)");
        if (dim < 1) throw new BadInputException("--dim must be positive, got " + dim);
        if (!(temperature > 0) || !Double.isFinite(temperature)) throw new BadInputException("--temperature must be positive, got " + temperature);
        if (!(margin >= 0) || !Double.isFinite(margin)) throw new BadInputException("--margin must be >= 0 (0 = plain MoCo v2), got " + margin);
        if (!(keyMomentum >= 0 && keyMomentum < 1)) throw new BadInputException("--key-momentum must be in [0, 1), got " + keyMomentum);
        if (bnSplits < 1) throw new BadInputException("--bn-splits must be at least 1, got " + bnSplits);
        if (batchSize % bnSplits != 0)
            throw new BadInputException("--batch-size " + batchSize + " is not a multiple of --bn-splits " + bnSplits + " (split BN cuts the batch into equal groups)");
        if (!augmentation.equals("mocov2") && !augmentation.equals("mocov1"))
            throw new BadInputException("--augmentation must be mocov2 or mocov1, got '" + augmentation + "'");
        if (!(blurProbability >= 0 && blurProbability <= 1)) throw new BadInputException("--blur must be a probability in [0, 1], got " + blurProbability);
        if (workers < 0) throw new BadInputException("--workers must be >= 0 (0 = one per core), got " + workers);
        if (logEvery < 1) throw new BadInputException("--log-every must be at least 1, got " + logEvery);
        return this;
    }

    /** Mutable fields for {@link #with}. */
    public static final class Builder {
        public ModelSpec model;
        public int imageSize, epochs, batchSize, queueSize, dim, bnSplits, workers, logEvery;
        public OptimSpec optim;
        public ScheduleSpec schedule;
        public double temperature, margin, keyMomentum, blurProbability;
        public boolean shuffleKeys;
        public String augmentation;
        public long seed;

        Builder(PretrainConfig c) {
            model = c.model; imageSize = c.imageSize; epochs = c.epochs; batchSize = c.batchSize; optim = c.optim; schedule = c.schedule;
            queueSize = c.queueSize; dim = c.dim; temperature = c.temperature; margin = c.margin; keyMomentum = c.keyMomentum;
            bnSplits = c.bnSplits; shuffleKeys = c.shuffleKeys; augmentation = c.augmentation; blurProbability = c.blurProbability;
            workers = c.workers; logEvery = c.logEvery; seed = c.seed;
        }

        PretrainConfig build() {
            return new PretrainConfig(model, imageSize, epochs, batchSize, optim, schedule, queueSize, dim, temperature, margin, keyMomentum,
                    bnSplits, shuffleKeys, augmentation, blurProbability, workers, logEvery, seed);
        }
    }
}
