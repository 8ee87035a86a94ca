package dvp.engine.cpu;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Losses;
import dvp.engine.ops.Norm;
import dvp.engine.ops.Pool;
import dvp.engine.spi.Backend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dvp.engine.testing.Tensors.assertClose;
import static dvp.engine.testing.Tensors.cpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The CPU primitives against values computed by hand from their definitions. */
class CpuPrimitivesTest {
    private Scope scope;
    private final Backend be = cpu();

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    @Test void batchNormTrainUsesBiasedVarianceToNormaliseAndUnbiasedForTheRunningStats() {
        // one channel, values 1..4: mean 2.5, biased var 1.25, unbiased var 5/3
        Tensor x = Tensor.of(be, new float[]{1, 2, 3, 4}, 2, 1, 2, 1);
        Tensor g = Tensor.of(be, new float[]{2}, 1), b = Tensor.of(be, new float[]{0.5f}, 1);
        Tensor rm = Tensor.of(be, new float[]{1}, 1), rv = Tensor.of(be, new float[]{1}, 1);
        float[] y = Norm.batchNormTrain(x, g, b, rm, rv, 0.1f, 1e-5f).toFloatArray();
        double inv = 1 / Math.sqrt(1.25 + 1e-5);
        for (int i = 0; i < 4; i++) assertEquals((i + 1 - 2.5) * inv * 2 + 0.5, y[i], 1e-5);
        assertEquals(0.9 * 1 + 0.1 * 2.5, rm.item(), 1e-6);
        assertEquals(0.9 * 1 + 0.1 * (5.0 / 3), rv.item(), 1e-6);
    }

    @Test void batchNormEvalUsesTheRunningStatistics() {
        Tensor x = Tensor.of(be, new float[]{1, 2, 3, 4, 5, 6}, 1, 2, 3);
        Tensor g = Tensor.of(be, new float[]{1, 3}, 2), b = Tensor.of(be, new float[]{0, -1}, 2);
        Tensor rm = Tensor.of(be, new float[]{2, 5}, 2), rv = Tensor.of(be, new float[]{4, 0.25f}, 2);
        float[] y = Norm.batchNormEval(x, g, b, rm, rv, 0f).toFloatArray();
        assertClose("bn eval", new float[]{-0.5f, 0, 0.5f, -7, -1, 5}, y, 1e-6, 1e-6);
    }

    @Test void crossEntropyWithLabelSmoothingSpreadsMassOverEveryClass() {
        float[] z = {1f, 2f, 0.5f};
        Tensor logits = Tensor.of(be, z, 1, 3);
        Tensor label = Tensor.ofLongs(be, new long[]{1}, 1);
        double lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(0.5));
        double eps = 0.3;
        // target: true class 1-eps+eps/3, others eps/3
        double expected = -((1 - eps + eps / 3) * (2 - lse) + eps / 3 * (1 - lse) + eps / 3 * (0.5 - lse));
        assertEquals(expected, Losses.crossEntropy(logits, label, (float) eps).item(), 1e-6);
        Tensor bad = Tensor.ofLongs(be, new long[]{3}, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Losses.crossEntropy(logits, bad));
        assertEquals("cross_entropy: label 3 at row 0 is outside [0, 3)", e.getMessage());
    }

    @Test void sgdMatchesPyTorchsUpdateOrder() {
        Tensor p = Tensor.of(be, new float[]{1f, -2f}, 2), grad = Tensor.of(be, new float[]{0.5f, 0.25f}, 2);
        Tensor buf = Tensor.empty(be, DType.F32, 2);
        float lr = 0.1f, mom = 0.9f, wd = 0.01f;
        be.sgdUpdate(p, grad, buf, lr, mom, 0f, wd, true, true);
        // step 1: d = g + wd p; buf = d; nesterov: d + mom*buf; p -= lr*(...)
        double d0 = 0.5 + 0.01 * 1, d1 = 0.25 + 0.01 * -2;
        double p0 = 1 - 0.1 * (d0 + 0.9 * d0), p1 = -2 - 0.1 * (d1 + 0.9 * d1);
        assertClose("step1", new float[]{(float) p0, (float) p1}, p.toFloatArray(), 1e-6, 1e-6);
        be.sgdUpdate(p, grad, buf, lr, mom, 0f, wd, true, false);
        double e0 = 0.5 + 0.01 * p0, b0 = 0.9 * d0 + e0;
        assertEquals(p0 - 0.1 * (e0 + 0.9 * b0), p.toFloatArray()[0], 1e-6);
        assertEquals((float) b0, buf.toFloatArray()[0], 1e-6);
    }

    @Test void l2NormalizeClampsTinyNormsLikeTorch() {
        Tensor x = Tensor.of(be, new float[]{3, 4, 0, 0}, 2, 2);
        assertArrayEquals(new float[]{0.6f, 0.8f, 0, 0}, Norm.l2Normalize(x).toFloatArray(), 1e-7f);
    }

    @Test void maxPoolPicksTheFirstMaximumAndIgnoresPadding() {
        float[] v = new float[25];
        for (int i = 0; i < 25; i++) v[i] = -1f; // all negative: padding must not win with 0
        v[12] = 5f; // (2,2) and (2,3) tie inside output (1,1)'s window: the first in scan order wins;
        v[13] = 5f; // (2,3) is also the maximum of output (1,2)'s window
        Tensor x = Tensor.of(be, v, 1, 1, 5, 5).requiresGrad(true);
        Tensor y = Pool.maxPool2d(x, 3, 2, 1);
        assertArrayEquals(new int[]{1, 1, 3, 3}, y.shape());
        float[] out = y.toFloatArray();
        assertEquals(-1f, out[0]);
        dvp.engine.ops.Reductions.sum(y).backward();
        float[] dx = x.grad().toFloatArray();
        assertEquals(1f, dx[12], "(1,1) routes its gradient to the first maximum");
        assertEquals(1f, dx[13], "(1,2) only; a last-wins tie rule would give 2");
        assertEquals(1f, dx[0], "output (0,0): all real inputs tie at -1, the first wins (padding never does)");
        assertEquals(0f, dx[6], "(1,1) is in four windows but first or largest in none");
    }
}
