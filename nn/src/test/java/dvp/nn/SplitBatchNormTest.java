package dvp.nn;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Reductions;
import dvp.engine.ops.Views;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dvp.engine.testing.Tensors.assertClose;
import static dvp.engine.testing.Tensors.cpu;
import static dvp.engine.testing.Tensors.param;
import static dvp.engine.testing.Tensors.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SplitBatchNorm2d equals plain BN applied to each group (samples n with n mod S = j) separately. */
class SplitBatchNormTest {
    private Scope scope;
    private final Rng rng = new Rng(29);

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    private static BatchNorm2d copyOf(SplitBatchNorm2d split) {
        BatchNorm2d bn = new BatchNorm2d(split.numFeatures());
        bn.loadStateDict(split.stateDict(), true);
        return bn;
    }

    /** Rows n, n+S, n+2S, ... of x (group j in the demo's [N/S, S·C, H, W] view), differentiable. */
    private static Tensor group(Tensor x, int j, int s) {
        List<Tensor> rows = new ArrayList<>();
        for (int n = j; n < x.dim(0); n += s) rows.add(Views.narrow0(x, n, 1));
        return Views.cat0(rows.toArray(Tensor[]::new));
    }

    @Test
    void trainModeEqualsPerGroupBatchNormIncludingGradients() {
        int n = 8, c = 3, s = 4;
        SplitBatchNorm2d split = new SplitBatchNorm2d(c, s);
        Init.uniform(split.weight(), 0.5, 1.5, rng);
        Init.normal(split.bias(), 0, 1, rng);
        Init.uniform(split.runningVar(), 0.5, 2, rng);
        Init.normal(split.runningMean(), 0, 1, rng);
        List<BatchNorm2d> perGroup = new ArrayList<>();
        for (int j = 0; j < s; j++) perGroup.add(copyOf(split));

        Tensor x = param(randn(rng, n, c, 3, 2));
        Tensor r = randn(rng, n, c, 3, 2);
        Tensor y = split.forward(x);
        Reductions.sum(Elementwise.mul(y, r)).backward();
        float[] dxSplit = x.grad().toFloatArray(), dgSplit = split.weight().grad().toFloatArray(), dbSplit = split.bias().grad().toFloatArray();
        x.setGrad(null);

        float[] rmMean = new float[c], rvMean = new float[c];
        Tensor loss = null;
        for (int j = 0; j < s; j++) {
            BatchNorm2d bn = perGroup.get(j);
            Tensor yj = bn.forward(group(x, j, s));
            float[] expect = yj.toFloatArray(), got = group(y, j, s).toFloatArray();
            assertClose("group " + j + " output", expect, got, 1e-5, 1e-5);
            Tensor lj = Reductions.sum(Elementwise.mul(yj, group(r, j, s)));
            loss = loss == null ? lj : Elementwise.add(loss, lj);
            float[] m = bn.runningMean().toFloatArray(), v = bn.runningVar().toFloatArray();
            for (int ch = 0; ch < c; ch++) {
                rmMean[ch] += m[ch] / s;
                rvMean[ch] += v[ch] / s;
            }
        }
        assertClose("running_mean = mean over groups", rmMean, split.runningMean().toFloatArray(), 1e-6, 1e-5);
        assertClose("running_var = mean over groups", rvMean, split.runningVar().toFloatArray(), 1e-6, 1e-5);
        loss.backward();
        assertClose("dx", x.grad().toFloatArray(), dxSplit, 1e-5, 1e-4);
        float[] dg = new float[c], db = new float[c];
        for (BatchNorm2d bn : perGroup) {
            float[] g = bn.weight().grad().toFloatArray(), b = bn.bias().grad().toFloatArray();
            for (int ch = 0; ch < c; ch++) {
                dg[ch] += g[ch];
                db[ch] += b[ch];
            }
        }
        assertClose("dgamma = sum over groups", dg, dgSplit, 1e-5, 1e-4);
        assertClose("dbeta = sum over groups", db, dbSplit, 1e-5, 1e-4);
        assertEquals(0, split.numBatchesTracked(), "the MoCo demo's split BN does not count batches");
    }

    @Test
    void oneSplitIsPlainBatchNormAndEvalIsPlainBatchNorm() {
        SplitBatchNorm2d split = new SplitBatchNorm2d(2, 1);
        BatchNorm2d plain = copyOf(split);
        Tensor x = randn(rng, 5, 2, 3, 3);
        assertClose("S=1 output", plain.forward(x).toFloatArray(), split.forward(x).toFloatArray(), 1e-6, 1e-6);
        assertClose("S=1 running_var", plain.runningVar().toFloatArray(), split.runningVar().toFloatArray(), 1e-7, 1e-6);

        SplitBatchNorm2d s4 = new SplitBatchNorm2d(2, 4);
        Init.uniform(s4.runningVar(), 0.5, 2, rng);
        Init.normal(s4.runningMean(), 0, 1, rng);
        BatchNorm2d ref = copyOf(s4);
        s4.eval();
        ref.eval();
        Tensor x3 = randn(rng, 3, 2, 2, 2); // eval needs no divisible batch
        assertClose("eval", ref.forward(x3).toFloatArray(), s4.forward(x3).toFloatArray(), 0, 0);
    }

    @Test
    void indivisibleBatchIsAClearError() {
        SplitBatchNorm2d split = new SplitBatchNorm2d(2, 4);
        var e = assertThrows(IllegalArgumentException.class, () -> split.forward(Tensor.zeros(cpu(), 6, 2, 2, 2)));
        assertTrue(e.getMessage().contains("batch size 6 is not divisible by num_splits 4"), e.getMessage());
    }

    /**
     * The fused block tail on the split view equals split BN, add and ReLU done one by one, bit for
     * bit on the CPU (output, gradients of x, the residual, γ, β, and the running statistics).
     */
    @Test
    void fusedAddReluEqualsTheUnfusedOpsIncludingGradients() {
        int n = 6, c = 3, s = 3;
        SplitBatchNorm2d fused = new SplitBatchNorm2d(c, s), plain = new SplitBatchNorm2d(c, s);
        Init.uniform(fused.weight(), 0.5, 1.5, rng);
        Init.normal(fused.bias(), 0, 1, rng);
        plain.loadStateDict(fused.stateDict(), true);
        Tensor x = randn(rng, n, c, 5, 3), res = randn(rng, n, c, 5, 3), r = randn(rng, n, c, 5, 3);
        Tensor x1 = param(x.detach()), res1 = param(res.detach()), x2 = param(x.detach()), res2 = param(res.detach());
        Tensor y1 = fused.forwardAddRelu(x1, res1, true);
        Tensor y2 = Elementwise.relu(Elementwise.add(plain.forward(x2), res2));
        Reductions.sum(Elementwise.mul(y1, r)).backward();
        Reductions.sum(Elementwise.mul(y2, r)).backward();
        assertArrayEqualsBits(y2, y1, "y");
        assertArrayEqualsBits(x2.grad(), x1.grad(), "dx");
        assertArrayEqualsBits(res2.grad(), res1.grad(), "dresidual");
        assertArrayEqualsBits(plain.weight().grad(), fused.weight().grad(), "dgamma");
        assertArrayEqualsBits(plain.bias().grad(), fused.bias().grad(), "dbeta");
        assertArrayEqualsBits(plain.runningMean(), fused.runningMean(), "running_mean");
        assertArrayEqualsBits(plain.runningVar(), fused.runningVar(), "running_var");
    }

    private static void assertArrayEqualsBits(Tensor expected, Tensor actual, String what) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected.toFloatArray(), actual.toFloatArray(), what);
    }
}
