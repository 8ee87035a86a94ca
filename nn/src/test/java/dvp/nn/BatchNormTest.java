package dvp.nn;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dvp.engine.testing.Tensors.assertClose;
import static dvp.engine.testing.Tensors.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BatchNorm2d against a hand computation in double precision. */
class BatchNormTest {
    private Scope scope;
    private final Rng rng = new Rng(23);

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    /** Per-channel [mean, biased var, unbiased var] of x [N, C, H, W]. */
    static double[][] stats(float[] x, int n, int c, int plane) {
        double[][] out = new double[c][3];
        for (int ch = 0; ch < c; ch++) {
            double s = 0, sq = 0;
            for (int i = 0; i < n; i++) for (int p = 0; p < plane; p++) s += x[(i * c + ch) * plane + p];
            double mean = s / (n * plane);
            for (int i = 0; i < n; i++) for (int p = 0; p < plane; p++) {
                double d = x[(i * c + ch) * plane + p] - mean;
                sq += d * d;
            }
            out[ch] = new double[]{mean, sq / (n * plane), sq / (n * plane - 1)};
        }
        return out;
    }

    @Test
    void trainModeNormalisesWithBatchStatsAndUpdatesRunningStats() {
        int n = 4, c = 3, h = 2, w = 3, plane = h * w;
        BatchNorm2d bn = new BatchNorm2d(c);
        float[] gamma = {0.5f, 2f, -1f}, beta = {0.1f, -0.3f, 1f};
        Init.write(bn.weight(), gamma);
        Init.write(bn.bias(), beta);
        double[] rm = {0, 0, 0}, rv = {1, 1, 1};
        for (int step = 0; step < 3; step++) {
            Tensor x = randn(rng, n, c, h, w);
            float[] xv = x.toFloatArray();
            float[] y;
            try (var g = GradMode.noGrad()) {
                y = bn.forward(x).toFloatArray();
            }
            double[][] st = stats(xv, n, c, plane);
            float[] expected = new float[xv.length];
            for (int i = 0; i < n; i++) for (int ch = 0; ch < c; ch++) for (int p = 0; p < plane; p++) {
                int k = (i * c + ch) * plane + p;
                expected[k] = (float) ((xv[k] - st[ch][0]) / Math.sqrt(st[ch][1] + 1e-5) * gamma[ch] + beta[ch]);
            }
            assertClose("train output step " + step, expected, y, 1e-5, 1e-5);
            float[] erm = new float[c], erv = new float[c];
            for (int ch = 0; ch < c; ch++) {
                rm[ch] = 0.9 * rm[ch] + 0.1 * st[ch][0];
                rv[ch] = 0.9 * rv[ch] + 0.1 * st[ch][2]; // unbiased variance, as PyTorch
                erm[ch] = (float) rm[ch];
                erv[ch] = (float) rv[ch];
            }
            assertClose("running_mean step " + step, erm, bn.runningMean().toFloatArray(), 1e-6, 1e-5);
            assertClose("running_var step " + step, erv, bn.runningVar().toFloatArray(), 1e-6, 1e-5);
            assertEquals(step + 1, bn.numBatchesTracked());
            assertEquals(step + 1L, bn.stateDict().get("num_batches_tracked").toLongArray()[0]);
        }
    }

    @Test
    void evalModeUsesRunningStats() {
        BatchNorm2d bn = new BatchNorm2d(2);
        Init.write(bn.runningMean(), new float[]{1f, -2f});
        Init.write(bn.runningVar(), new float[]{4f, 0.25f});
        Init.write(bn.weight(), new float[]{3f, 1f});
        Init.write(bn.bias(), new float[]{0f, 0.5f});
        bn.eval();
        Tensor x = randn(rng, 3, 2, 2, 2);
        float[] xv = x.toFloatArray(), y = bn.forward(x).toFloatArray(), expected = new float[xv.length];
        double[] m = {1, -2}, v = {4, 0.25}, g = {3, 1}, b = {0, 0.5};
        for (int k = 0; k < xv.length; k++) {
            int ch = (k / 4) % 2;
            expected[k] = (float) ((xv[k] - m[ch]) / Math.sqrt(v[ch] + 1e-5) * g[ch] + b[ch]);
        }
        assertClose("eval output", expected, y, 1e-5, 1e-5);
        assertEquals(0, bn.numBatchesTracked());
        assertClose("running stats untouched", new float[]{1f, -2f}, bn.runningMean().toFloatArray(), 0, 0);
    }

    @Test
    void cumulativeAverageWhenMomentumIsNull() {
        BatchNorm2d bn = new BatchNorm2d(2, 1e-5f, null, true, true);
        double[] sumMean = new double[2];
        for (int step = 1; step <= 3; step++) {
            Tensor x = randn(rng, 2, 2, 3, 3);
            double[][] st = stats(x.toFloatArray(), 2, 2, 9);
            try (var g = GradMode.noGrad()) {
                bn.forward(x);
            }
            for (int ch = 0; ch < 2; ch++) sumMean[ch] += st[ch][0];
            float[] expected = {(float) (sumMean[0] / step), (float) (sumMean[1] / step)};
            assertClose("cumulative running_mean after " + step, expected, bn.runningMean().toFloatArray(), 1e-6, 1e-5);
        }
    }

    @Test
    void optionsChangeRegisteredState() {
        BatchNorm2d plain = new BatchNorm2d(3, 1e-5f, 0.1f, false, false);
        assertTrue(plain.stateDict().isEmpty());
        assertNull(plain.runningMean());
        plain.eval(); // no running stats: eval normalises with the batch's statistics
        Tensor x = randn(rng, 4, 3, 2, 2);
        double[][] st = stats(x.toFloatArray(), 4, 3, 4);
        float[] y = plain.forward(x).toFloatArray(), xv = x.toFloatArray(), expected = new float[xv.length];
        for (int k = 0; k < xv.length; k++) {
            int ch = (k / 4) % 3;
            expected[k] = (float) ((xv[k] - st[ch][0]) / Math.sqrt(st[ch][1] + 1e-5));
        }
        assertClose("untracked eval", expected, y, 1e-5, 1e-5);
        BatchNorm2d noAffine = new BatchNorm2d(3, 1e-5f, 0.1f, false, true);
        assertEquals(List.of("running_mean", "running_var", "num_batches_tracked"), List.copyOf(noAffine.stateDict().keySet()));
        var e = assertThrows(IllegalArgumentException.class, () -> noAffine.forward(randn(rng, 2, 4, 2, 2)));
        assertTrue(e.getMessage().contains("expected input [N, 3, H, W]"), e.getMessage());
    }
}
