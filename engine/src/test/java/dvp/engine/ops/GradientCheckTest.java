package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.testing.GradCheck;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dvp.engine.testing.Tensors.cpu;
import static dvp.engine.testing.Tensors.distinct;
import static dvp.engine.testing.Tensors.param;
import static dvp.engine.testing.Tensors.randn;
import static dvp.engine.testing.Tensors.uniform;

/** Finite-difference check of every differentiable op, at odd sizes (not multiples of 8). */
class GradientCheckTest {
    private Scope scope;
    private final Rng rng = new Rng(7);
    private final GradCheck gc = GradCheck.defaults();

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    @Test void addSubAxpby() {
        Tensor a = param(randn(rng, 3, 5)), b = param(randn(rng, 3, 5));
        gc.check("add", in -> Elementwise.add(in[0], in[1]), a, b);
        gc.check("sub", in -> Elementwise.sub(in[0], in[1]), a, b);
        gc.check("axpby", in -> Elementwise.axpby(0.3f, in[0], -2.5f, in[1]), a, b);
    }

    @Test void mulAndScale() {
        Tensor a = param(randn(rng, 7, 3)), b = param(randn(rng, 7, 3));
        gc.check("mul", in -> Elementwise.mul(in[0], in[1]), a, b);
        gc.check("scale", in -> Elementwise.scale(in[0], -1.7f), a);
    }

    @Test void reluAwayFromKink() {
        int[] perm = rng.permutation(33);
        float[] v = new float[33]; // values (k + 1/2) * 0.07: |x| >= 0.035 > 2h, none at the kink
        for (int i = 0; i < v.length; i++) v[i] = (perm[i] - 16 + 0.5f) * 0.07f;
        Tensor x = param(Tensor.of(cpu(), v, 3, 11));
        gc.check("relu", in -> Elementwise.relu(in[0]), x);
    }

    @Test void sumAndMean() {
        Tensor x = param(randn(rng, 5, 3, 7));
        gc.check("sum", in -> Reductions.sum(in[0]), x);
        gc.check("mean", in -> Reductions.mean(in[0]), x);
    }

    @ParameterizedTest(name = "transA={0} transB={1}")
    @CsvSource({"false,false", "true,false", "false,true", "true,true"})
    void matmul(boolean ta, boolean tb) {
        Tensor a = param(randn(rng, ta ? 5 : 3, ta ? 3 : 5)), b = param(randn(rng, tb ? 7 : 5, tb ? 5 : 7));
        gc.check("matmul", in -> Linear.matmul(in[0], ta, in[1], tb), a, b);
    }

    @Test void linearWithBias() {
        Tensor x = param(randn(rng, 5, 7)), w = param(randn(rng, 3, 7)), b = param(randn(rng, 3));
        gc.check("linear", in -> Linear.linear(in[0], in[1], in[2]), x, w, b);
    }

    @ParameterizedTest(name = "k={0} stride={1} pad={2} groups={3}")
    @CsvSource({"3,1,1,1", "3,2,1,1", "1,1,0,1", "1,2,0,1", "3,2,0,3", "7,2,3,1", "3,1,1,3", "1,1,0,3"})
    void conv2d(int k, int stride, int pad, int groups) {
        int ci = 3 * groups / (groups == 1 ? 1 : 1), co = 3 * groups;
        Tensor x = param(randn(rng, 2, ci, 9, 7)), w = param(Tensor.of(cpu(), rng.normal(co * (ci / groups) * k * k, 0, 0.5), co, ci / groups, k, k));
        gc.check("conv2d", in -> Conv.conv2d(in[0], in[1], stride, pad, groups), x, w);
    }

    @Test void batchNormTrainMode() {
        Tensor x = param(randn(rng, 3, 5, 3, 3)), g = param(uniform(rng, 0.5, 1.5, 5)), b = param(randn(rng, 5));
        GradCheck loose = gc.step(5e-3);
        loose.check("batch_norm", in -> Norm.batchNormTrain(in[0], in[1], in[2], null, null, 0.1f, 1e-5f), x, g, b);
        // a 2-D input (BatchNorm1d-style) too
        Tensor x2 = param(randn(rng, 7, 5));
        loose.check("batch_norm 2d", in -> Norm.batchNormTrain(in[0], in[1], in[2], null, null, 0.1f, 1e-5f), x2, g, b);
    }

    /**
     * Fused batch norm + residual + ReLU. The pre-activations are kept clear of the ReLU's kink by
     * more than a step can move them (GradCheck's rule): with a residual, r = t − bn(x) for targets
     * t = ±(k + 1/2)·0.1 (|pre| ≥ 0.05; a step of 5e-3 moves pre by at most γ·invstd·h ≈ 1e-2 through
     * x, h·|x̂| ≤ 1.5e-2 through γ, h through β or r); without one, β = 0 and each channel holds
     * ±0.05, ±0.15, ±0.25 (mean 0, invstd ≈ 5.8, |pre| ≥ 0.14 against a move of ≤ 0.05).
     */
    @Test void batchNormReluTrainMode() {
        int[] xs = {3, 5, 3, 3};
        Tensor x = param(randn(rng, xs)), g = param(uniform(rng, 0.5, 1.5, 5)), b = param(randn(rng, 5));
        Tensor z;
        try (var off = dvp.engine.autograd.GradMode.noGrad()) {
            z = Norm.batchNormTrain(x, g, b, null, null, 0.1f, 1e-5f);
        }
        int n = (int) x.numel();
        int[] perm = rng.permutation(n);
        float[] t = new float[n];
        for (int i = 0; i < n; i++) t[i] = (perm[i] - n / 2 + 0.5f) * 0.1f;
        float[] zv = z.toFloatArray();
        for (int i = 0; i < n; i++) t[i] -= zv[i];
        Tensor r = param(Tensor.of(cpu(), t, xs));
        GradCheck loose = gc.step(5e-3);
        loose.check("batch_norm_relu + residual",
                in -> Norm.batchNormReluTrain(in[0], in[3], in[1], in[2], null, null, 0.1f, 1e-5f, true), x, g, b, r);
        loose.check("batch_norm_add (no relu)",
                in -> Norm.batchNormReluTrain(in[0], in[3], in[1], in[2], null, null, 0.1f, 1e-5f, false), x, g, b, param(randn(rng, xs)));

        float[] levels = {-0.25f, -0.15f, -0.05f, 0.05f, 0.15f, 0.25f};
        int[] ys = {3, 5, 2, 1}; // 6 values per channel: each level once
        float[] v = new float[30];
        for (int ch = 0; ch < 5; ch++) {
            int[] p = rng.permutation(6);
            for (int k = 0; k < 6; k++) v[(k / 2) * 10 + ch * 2 + k % 2] = levels[p[k]];
        }
        Tensor y = param(Tensor.of(cpu(), v, ys)), b0 = param(Tensor.zeros(cpu(), 5));
        loose.check("batch_norm_relu", in -> Norm.batchNormReluTrain(in[0], null, in[1], in[2], null, null, 0.1f, 1e-5f, true), y, g, b0);
    }

    @Test void batchNormEvalMode() {
        Tensor x = param(randn(rng, 3, 5, 3, 3)), g = param(uniform(rng, 0.5, 1.5, 5)), b = param(randn(rng, 5));
        Tensor rm = randn(rng, 5), rv = uniform(rng, 0.5, 2, 5);
        gc.check("batch_norm(eval)", in -> Norm.batchNormEval(in[0], in[1], in[2], rm, rv, 1e-5f), x, g, b);
    }

    @Test void maxPoolWithPadding() {
        Tensor x = param(Tensor.of(cpu(), distinct(rng, 2 * 3 * 9 * 7, 0.05f), 2, 3, 9, 7));
        gc.check("max_pool2d", in -> Pool.maxPool2d(in[0], 3, 2, 1), x);
    }

    @Test void globalAvgPool() {
        Tensor x = param(randn(rng, 3, 5, 3, 7));
        gc.check("adaptive_avg_pool2d", in -> Pool.globalAvgPool(in[0]), x);
    }

    @Test void l2Normalize() {
        Tensor x = param(randn(rng, 5, 13));
        gc.check("normalize", in -> Norm.l2Normalize(in[0]), x);
    }

    @ParameterizedTest(name = "smoothing={0}")
    @CsvSource({"0.0", "0.1", "0.5"})
    void crossEntropy(float smoothing) {
        Tensor z = param(randn(rng, 5, 7));
        Tensor y = Tensor.ofLongs(cpu(), new long[]{0, 6, 3, 3, 1}, 5);
        gc.check("cross_entropy", in -> Losses.crossEntropy(in[0], y, smoothing), z);
    }

    @Test void viewsReshapePermuteCatNarrow() {
        Tensor x = param(randn(rng, 3, 2, 5)), y = param(randn(rng, 4, 2, 5));
        gc.check("reshape", in -> Elementwise.scale(Views.reshape(in[0], 5, -1), 2f), x);
        gc.check("flatten", in -> Views.flatten(in[0]), x);
        gc.check("permute", in -> Views.permute(in[0], 2, 0, 1), x);
        gc.check("cat", in -> Views.cat0(in[0], in[1], in[0]), x, y);
        gc.check("narrow", in -> Views.narrow0(in[0], 1, 2), y);
    }

    @Test void composedGraphAccumulatesThroughSharedInputs() {
        // x is used three times: the engine must sum the gradients of every path
        Tensor x = param(randn(rng, 3, 5)), w = param(randn(rng, 5, 5));
        gc.check("graph", in -> {
            Tensor h = Elementwise.mul(Linear.matmul(in[0], in[1]), in[0]);
            return Elementwise.add(h, Elementwise.scale(in[0], 3f));
        }, x, w);
        Tensor labels = Tensor.ofLongs(cpu(), new long[]{1, 0, 4}, 3);
        gc.check("graph-ce", in -> Losses.crossEntropy(Norm.l2Normalize(Linear.matmul(in[0], in[1])), labels, 0.1f), x, w);
        assert x.dtype() == DType.F32;
    }
}
