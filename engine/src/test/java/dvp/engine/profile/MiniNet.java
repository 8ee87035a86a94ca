package dvp.engine.profile;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.ops.Conv;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Linear;
import dvp.engine.ops.Losses;
import dvp.engine.ops.Norm;
import dvp.engine.ops.Pool;
import dvp.engine.ops.Views;
import dvp.engine.spi.Backend;

import java.util.ArrayList;
import java.util.List;

/**
 * A conv → BN → ReLU → max-pool → global-pool → linear → cross-entropy network with one SGD
 * step, built from engine ops only, on a given backend: enough primitives (forward, backward,
 * optimizer) to test the profiler without nn.
 */
final class MiniNet {
    final Tensor x, labels, w, gamma, beta, rm, rv, fcW, fcB;
    final List<Tensor> params;

    MiniNet(Backend be, long seed) {
        Rng rng = new Rng(seed);
        x = Tensor.of(be, rng.normal(4 * 3 * 12 * 12, 0, 1), 4, 3, 12, 12);
        labels = Tensor.ofLongs(be, new long[]{0, 2, 1, 2}, 4);
        w = Tensor.of(be, rng.normal(8 * 3 * 3 * 3, 0, 0.3), 8, 3, 3, 3).requiresGrad(true);
        gamma = Tensor.full(be, 1, 8).requiresGrad(true);
        beta = Tensor.zeros(be, 8).requiresGrad(true);
        rm = Tensor.zeros(be, 8);
        rv = Tensor.full(be, 1, 8);
        fcW = Tensor.of(be, rng.normal(3 * 8, 0, 0.2), 3, 8).requiresGrad(true);
        fcB = Tensor.zeros(be, 3).requiresGrad(true);
        params = List.of(w, gamma, beta, fcW, fcB);
    }

    /** One training step; returns the loss. Gradients are set fresh each step. */
    float step() {
        for (Tensor p : params) p.setGrad(null);
        float loss;
        try (Scope s = Scope.open("step")) {
            Tensor h = Conv.conv2d(x, w, 1, 1, 1);
            h = Norm.batchNormTrain(h, gamma, beta, rm, rv, 0.1f, 1e-5f);
            h = Elementwise.relu(h);
            h = Pool.maxPool2d(h, 3, 2, 1);
            h = Views.flatten(Pool.globalAvgPool(h));
            Tensor logits = Linear.linear(h, fcW, fcB);
            Tensor l = Losses.crossEntropy(logits, labels);
            l.backward();
            loss = l.item();
            try (var ng = GradMode.noGrad()) {
                for (Tensor p : params) p.backend().sgdUpdate(p, p.grad(), null, 0.1f, 0f, 0f, 0f, false, true);
            }
        }
        return loss;
    }

    /** Every parameter's and running statistic's values, for bit-for-bit comparisons. */
    List<float[]> state() {
        List<float[]> out = new ArrayList<>();
        for (Tensor p : params) out.add(p.toFloatArray());
        out.add(rm.toFloatArray());
        out.add(rv.toFloatArray());
        return out;
    }
}
