package dvp.nn.parity;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Tensor;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Losses;
import dvp.engine.ops.Reductions;
import dvp.nn.BatchNorm2d;
import dvp.nn.Module;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

import static dvp.engine.testing.Tensors.cpu;

/**
 * The "forward_backward" runner on the dvp side: the same module state goes to torch (strict
 * load), then both sides run y = module(x) in the given mode and backpropagate either
 * {@code sum(y ⊙ dy)} (so the upstream gradient is exactly dy) or a cross-entropy of y; then y,
 * the loss, dx, every parameter gradient and every buffer after the forward are compared.
 */
final class ForwardBackward {
    private ForwardBackward() {}

    /**
     * @param inputGrad          whether to compare dx (not for a whole network: x is data)
     * @param float64            whether torch also runs in float64 to report fp32's noise floor
     * @param shareDecisions     whether torch takes dvp's ReLU and max-pool decisions ({@link SharedDecisions})
     */
    record Options(boolean train, boolean inputGrad, boolean float64, boolean shareDecisions) {
        static Options layer(boolean train) { return new Options(train, true, false, false); }

        static Options network(boolean train) { return new Options(train, false, true, true); }
    }

    /** Upstream gradient dy, or labels (+ smoothing) for a cross-entropy loss: exactly one is non-null. */
    record Loss(Tensor dy, Tensor labels, float smoothing) {
        static Loss upstream(Tensor dy) { return new Loss(dy, null, 0f); }

        static Loss crossEntropy(Tensor labels, float smoothing) { return new Loss(null, labels, smoothing); }
    }

    /**
     * Runs the case on both sides and asserts parity; returns the max relative error.
     *
     * <p>For whole networks torch takes dvp's ReLU and max-pool decisions ({@link SharedDecisions});
     * where its own would have differed, each place must be within {@link #KINK_MARGIN} of a tie.
     *
     * @param parityCase metadata naming the torch module (the state and inputs are added here)
     */
    static double check(ParityCase parityCase, Module m, Tensor x, Loss loss, Options o) throws IOException, InterruptedException {
        boolean train = o.train(), inputGrad = o.inputGrad();
        parityCase.meta("run", "forward_backward").meta("mode", train ? "train" : "eval").meta("input_grad", inputGrad)
                .meta("float64", o.float64()).state(m.stateDict()).tensor("x", x); // state is copied now, before the forward moves it
        if (loss.labels() != null) parityCase.tensor("labels", loss.labels()).meta("smoothing", loss.smoothing());
        else parityCase.tensor("dy", loss.dy());

        m.train(train);
        if (inputGrad) x.requiresGrad(true);
        Tensor y = m.forward(x);
        Tensor scalar = loss.labels() != null ? Losses.crossEntropy(y, loss.labels(), loss.smoothing())
                : Reductions.sum(Elementwise.mul(y, loss.dy()));
        if (o.shareDecisions()) {
            SharedDecisions d = new SharedDecisions(parityCase, m);
            d.record(scalar);
            d.finish();
        }
        ParityCase.Reference ref = parityCase.run();
        scalar.backward();

        ParityCheck check = new ParityCheck(ref).floats("y", y);
        if (loss.labels() != null) check.floats("loss", scalar);
        if (inputGrad) check.floats("dx", x.grad());
        m.namedParameters().forEach((k, p) -> check.floats("grad." + k, p.grad()));
        m.namedBuffers().forEach((k, b) -> {
            if (b.dtype() == DType.I64) check.longs("state." + k, b);
            else check.floats("state." + k, b);
        });
        if (o.shareDecisions()) check.decisions(KINK_MARGIN);
        return check.assertWithin(ParityCheck.TOLERANCE);
    }

    /**
     * Where dvp's and torch's own decisions differ, |x| / max|x| of the ReLU input (or the gap
     * between the two max-pool candidates / max|x|) must be below this: a rounding-level tie.
     * Train-mode ResNet-50 has such flips up to 5e-5 between torch fp32 and torch fp64 themselves.
     */
    static final double KINK_MARGIN = 1e-4;

    /**
     * Gives every BatchNorm2d non-default state (γ, β, running statistics, a batch count of 5), so
     * eval mode and the running-stat update are tested on general values, not on 1/0 init.
     */
    static void randomizeBatchNorms(Module m, Rng rng) {
        Map<String, Tensor> replacement = new HashMap<>(m.stateDict());
        for (var e : m.namedModules().entrySet()) {
            if (!(e.getValue() instanceof BatchNorm2d bn)) continue;
            int c = bn.numFeatures();
            String p = e.getKey();
            replacement.put(p + "weight", Tensor.of(cpu(), rng.uniformArray(c, 0.5, 1.5), c));
            replacement.put(p + "bias", Tensor.of(cpu(), rng.normal(c, 0, 0.2), c));
            replacement.put(p + "running_mean", Tensor.of(cpu(), rng.normal(c, 0, 0.2), c));
            replacement.put(p + "running_var", Tensor.of(cpu(), rng.uniformArray(c, 0.5, 1.5), c));
            replacement.put(p + "num_batches_tracked", Tensor.ofLongs(cpu(), new long[]{5}));
        }
        m.loadStateDict(replacement, true);
    }
}
