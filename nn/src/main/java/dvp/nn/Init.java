package dvp.nn;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;

/**
 * torch.nn.init equivalents drawing from the engine {@link Rng}, so a seed fixes every weight.
 * Values are generated on the host and written into the (existing) tensor in place. Fans follow
 * {@code torch.nn.init._calculate_fan_in_and_fan_out}: fan_in = size(1)·k·k, fan_out = size(0)·k·k
 * (for a grouped conv size(1) is already C_in/groups).
 */
public final class Init {
    private Init() {}

    public static int fanIn(Tensor w) {
        if (w.rank() < 2) throw new IllegalArgumentException("fan in/out needs a weight of rank >= 2, got " + w.describe());
        return (int) (w.numel() / w.dim(0));
    }

    public static int fanOut(Tensor w) {
        if (w.rank() < 2) throw new IllegalArgumentException("fan in/out needs a weight of rank >= 2, got " + w.describe());
        return (int) (w.numel() / w.dim(1));
    }

    /** kaiming_normal_(mode="fan_out", nonlinearity="relu"): N(0, 2/fan_out). torchvision's ResNet conv init. */
    public static void kaimingNormalFanOut(Tensor w, Rng rng) {
        normal(w, 0, Math.sqrt(2.0 / fanOut(w)), rng);
    }

    /**
     * PyTorch's default Conv/Linear weight init, kaiming_uniform_(a=√5): U(−1/√fan_in, 1/√fan_in).
     */
    public static void pytorchDefaultWeight(Tensor w, Rng rng) {
        double bound = 1.0 / Math.sqrt(fanIn(w));
        uniform(w, -bound, bound, rng);
    }

    /** PyTorch's default Conv/Linear bias init: U(−1/√fan_in, 1/√fan_in) with the weight's fan_in. */
    public static void pytorchDefaultBias(Tensor bias, Tensor weight, Rng rng) {
        double bound = 1.0 / Math.sqrt(fanIn(weight));
        uniform(bias, -bound, bound, rng);
    }

    public static void normal(Tensor t, double mean, double std, Rng rng) {
        write(t, rng.normal((int) t.numel(), mean, std));
    }

    public static void uniform(Tensor t, double lo, double hi, Rng rng) {
        write(t, rng.uniformArray((int) t.numel(), lo, hi));
    }

    public static void constant(Tensor t, double value) { t.backend().fill(t, value); }

    /** Overwrites t's values with host data (row-major), in place. */
    public static void write(Tensor t, float[] values) {
        try (Scope s = Scope.open("init")) {
            TensorTransfer.copyInto(t, Tensor.of(t.backend(), values, t.shape()));
        }
    }
}
