package dvp.nn.parity;

import dvp.engine.MemoryFormat;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Losses;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.nn.models.ResNet;
import dvp.nn.optim.Sgd;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One ResNet training step on a device backend against the CPU reference ({@link StepParity}): the
 * same initial weights (from the seed), the same batch, cross-entropy, backward, then one SGD step
 * (lr 0.1, momentum 0.9, weight decay 1e-4) from seeded momentum buffers, so the update exercises
 * momentum (buf = 0.9·buf + g + wd·w) and not only the first-step rule (buf = g). Compared: the
 * loss, every gradient, every weight after the update, the momentum buffers, and the batch-norm
 * buffers (running mean and variance, num_batches_tracked exactly). Used by the CUDA step test and
 * {@code dvp selftest --resnet50}.
 */
public final class ResNetStepParity {
    /** The step: architecture (and a width multiplier for small tests), batch, square image size, classes, seed. */
    public record Settings(ResNet.Arch arch, double width, int batch, int size, int classes, long seed) {
        public String describe() {
            return String.format(Locale.ROOT, "%s%s step: batch %d, %dx%d, %d classes, SGD(lr 0.1, momentum 0.9 from seeded buffers, wd 1e-4)",
                    arch.torchvisionName(), width == 1 ? "" : " (width x" + width + ")", batch, size, size, classes);
        }

        public String shape() { return "[" + batch + ",3," + size + "," + size + "]"; }
    }

    private ResNetStepParity() {}

    /** Standard-normal images [batch, 3, size, size] from the seed. */
    public static float[] images(Settings s) { return new Rng(s.seed() ^ 0x5eedL).normal(s.batch() * 3 * s.size() * s.size(), 0, 1); }

    public static long[] labels(Settings s) {
        Rng rng = new Rng(s.seed() ^ 0x1abe1L);
        long[] l = new long[s.batch()];
        for (int i = 0; i < l.length; i++) l[i] = rng.nextInt(s.classes());
        return l;
    }

    /** The step as a {@link StepParity.Step}: the input is the images, the labels are fixed. */
    public static StepParity.Step step(Settings s) {
        long[] labels = labels(s);
        return (be, images) -> run(be, s, images, labels);
    }

    /** The reference run, its ulp-perturbed reruns and the device's, compared. */
    public static StepParity.Report compare(Backend reference, Backend device, Settings s) {
        return StepParity.compare(reference, device, images(s), step(s), s.seed());
    }

    /**
     * The device runs the step channels-last (its input converted with {@code contiguous(format)};
     * every op keeps the layout, so all 4-D activations and their gradients are channels-last while
     * the weights stay OIHW), the reference NCHW: same math, so StepParity's calibrated tolerances
     * (only the summation order differs) apply unchanged.
     */
    public static StepParity.Report compare(Backend reference, Backend device, Settings s, MemoryFormat deviceFormat) {
        long[] labels = labels(s);
        StepParity.Step step = (be, images) -> run(be, s, images, labels, be == device ? deviceFormat : MemoryFormat.CONTIGUOUS);
        return StepParity.compare(reference, device, images(s), step, s.seed());
    }

    static StepParity.Snapshot run(Backend be, Settings s, float[] images, long[] labels) {
        return run(be, s, images, labels, MemoryFormat.CONTIGUOUS);
    }

    static StepParity.Snapshot run(Backend be, Settings s, float[] images, long[] labels, MemoryFormat format) {
        StepParity.Snapshot snap = new StepParity.Snapshot();
        try (Scope scope = Scope.open("resnet step parity"); var use = Backends.use(be)) {
            ResNet model = ResNet.builder(s.arch()).numClasses(s.classes()).widthMultiplier(s.width()).build(new Rng(s.seed()));
            model.train();
            Map<String, Tensor> params = model.namedParameters();
            Sgd sgd = Sgd.builder(0.1).momentum(0.9).weightDecay(1e-4).group(params).build();
            try {
                sgd.loadMomentumBuffers(seededBuffers(params, s.seed()));
                Tensor x = Tensor.of(be, images, s.batch(), 3, s.size(), s.size()).contiguous(format);
                Tensor y = Tensor.ofLongs(be, labels, s.batch());
                Tensor loss = Losses.crossEntropy(model.forward(x), y, 0f);
                loss.backward();
                snap.put("loss", "cross-entropy", loss);
                snap.putGrads("gradients", params);
                sgd.step();
                snap.putAll("weights after SGD", params);
                snap.putAll("momentum buffers", sgd.momentumBuffers());
                snap.putAll("BN buffers", model.namedBuffers());
            } finally {
                sgd.close();
            }
        }
        return snap;
    }

    /**
     * Momentum buffers as a previous step would have left them: 0.01·N(0,1) per element, from the
     * seed and the parameter's position (host tensors; the optimizer copies them to its backend).
     */
    static Map<String, Tensor> seededBuffers(Map<String, Tensor> params, long seed) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Rng rng = new Rng(seed ^ 0x6d6f6d65L);
        int i = 0;
        for (var e : params.entrySet()) {
            Tensor p = e.getValue();
            out.put(e.getKey(), Tensor.of(Backends.cpu(), rng.fork(i++).normal((int) p.numel(), 0, 0.01), p.shape()));
        }
        return out;
    }
}
