package dvp.training.pipeline;

import dvp.training.loop.OptimSpec;
import dvp.training.loop.ScheduleSpec;
import dvp.training.model.ModelSpec;
import dvp.training.moco.PretrainConfig;
import dvp.training.supervised.ClassifierConfig;

import java.nio.file.Path;

/**
 * {@code dvp demo}: the pipeline with Table 1's comparison rows on Fashion-MNIST in the
 * data-deficient regime of VIPriors (50 training + 50 validation images per class drawn from the
 * training file; the official 10,000-image test file as test), with a small ResNet (ResNet-18
 * layout, grayscale input, small stem, width multiplier) sized to finish in about three minutes
 * on a 2-core CPU with oneDNN's convolutions (five with dvp's own). {@link Size} scales it up for longer runs.
 *
 * <p>Departures from the ResNet-50/VIPriors recipe, because the demo is ~100× shorter: the
 * key-encoder momentum is 0.99 (η = 0.999 averages over ~1000 steps, more than the whole demo's
 * phase 1), the queue holds 256 keys (about half the 500 training images, as K = 4096 is a small
 * fraction of VIPriors' 50,000), split BN uses 4 groups of 16 (batch 64), the MoCo blur is off
 * (σ up to 2 px wipes out a 28 px image; MoCo's CIFAR demo has no blur either), learning rates
 * are adapted to batch 64 (the linear classifier's lr 30 suits ResNet-50's MoCo features, not the
 * O(1)-per-channel features of this net: it uses 0.1), and the distillation warm-up is one epoch. Everything else is the
 * phases' own recipe (margin 0.4, τ 0.2, cosine schedule, lr 30 for the linear classifier with
 * steps at 60%/80%, Nesterov and steps at 30%/60%/90% for the labelled phases, λ = 10⁻⁴).
 *
 * <p>λ stays 10⁻⁴ although this net's stage features are 59.4× smaller per image than
 * ResNet-50's at 224 px (6,752 vs 401,408 elements after the stage weights): measured, the term is
 * already as large as the cross-entropy here, and λ × 59.4 costs 4–8 validation points (the
 * random connectors' gradient swamps the student when distillation switches on). Phase 2 does not
 * beat plain fine-tuning at this size because the network under-fits (about 80 % on its own
 * training images after 25 epochs), so there is no over-fitting to prevent; see the
 * "Experiments" section of docs/demo.md.
 */
public final class Demo {
    private Demo() {}

    /**
     * How big the demo is. {@link #standard()} is the default, about three minutes on a 2-core CPU.
     *
     * @param width         width multiplier of the ResNet (0.25: 16-32-64-128 channels)
     * @param blocks        residual blocks per stage (1 = a ResNet-10 layout, 2 = ResNet-18)
     */
    public record Size(int trainPerClass, int valPerClass, int pretrainEpochs, int epochs, int linearEpochs, double width, int blocks,
                       int batchSize) {
        public static Size standard() { return new Size(50, 50, 80, 25, 25, 0.25, 1, 64); }
    }

    public static PipelineConfig config(Size size, Path fashionMnistDir, long seed, int workers) {
        DataSpec data = DataSpec.fashionMnist(size.trainPerClass(), size.valPerClass()).withSplitSeed(seed);
        if (fashionMnistDir != null) data = new DataSpec(data.kind(), fashionMnistDir, data.trainPerClass(), data.valPerClass(), seed, false);
        int b = size.blocks();
        ModelSpec model = ModelSpec.of("resnet18").withInChannels(1).withSmallStem(true).withWidth(size.width()).withBlocks(b, b, b, b);
        int batch = size.batchSize();
        int queue = Math.max(batch, (int) Math.round(256.0 / batch) * batch);
        PretrainConfig pre = PretrainConfig.defaults().with(p -> {
            p.model = model;
            p.imageSize = 28;
            p.epochs = size.pretrainEpochs();
            p.batchSize = batch;
            p.optim = new OptimSpec(0.06, 0.9, 5e-4, false);
            p.schedule = ScheduleSpec.cosine();
            p.queueSize = queue;
            p.keyMomentum = 0.99;
            p.bnSplits = batch % 4 == 0 ? 4 : 1;
            p.blurProbability = 0;
            p.workers = workers;
            p.logEvery = 10;
            p.seed = seed;
        });
        ClassifierConfig common = ClassifierConfig.finetune().with(c -> {
            c.imageSize = 28;
            c.evalResize = 32;
            c.epochs = size.epochs();
            c.batchSize = batch;
            c.optim = new OptimSpec(0.05, 0.9, 5e-4, true);
            c.workers = workers;
            c.logEvery = 10;
            c.evalEvery = Math.max(1, size.epochs() / 10);
            c.evalBatchSize = 500;
            c.seed = seed;
        });
        ClassifierConfig distill = common.with(c -> {
            c.mode = "distill";
            c.distill = dvp.training.distill.DistillSpec.defaults().withWarmupEpochs(1);
        });
        ClassifierConfig linear = common.with(c -> {
            c.mode = "linear";
            c.epochs = size.linearEpochs();
            c.optim = new OptimSpec(0.1, 0.9, 0, false); // lr 30 suits ResNet-50's MoCo features; ours are O(1) per channel
        });
        return new PipelineConfig(data, pre, distill, true, common, linear, common, false);
    }
}
