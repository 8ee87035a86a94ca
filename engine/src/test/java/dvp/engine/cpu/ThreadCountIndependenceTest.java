package dvp.engine.cpu;

import dvp.engine.Rng;
import dvp.engine.Tensor;
import dvp.engine.ops.Contrastive;
import dvp.engine.ops.Conv;
import dvp.engine.ops.Distill;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Linear;
import dvp.engine.ops.Losses;
import dvp.engine.ops.Norm;
import dvp.engine.ops.Pool;
import dvp.engine.ops.Reductions;
import dvp.engine.testing.SplitBits;
import org.junit.jupiter.api.Test;

import static dvp.engine.testing.SplitBits.assertSplitIndependent;
import static dvp.engine.testing.Tensors.cpu;

/**
 * The CPU backend's promise that results are bit-identical whatever the thread count (DESIGN.md,
 * "Reproducible"): every op below runs forward and backward on random, odd-sized inputs with its
 * parallel loops cut into 1, 2, 3 and 5 pieces ({@link SplitBits}), and every output and gradient
 * must have the same bits. Backward passes get a random upstream gradient (loss = Σ y·r).
 * Shapes are big enough that Sgemm really splits (it keeps ≥ 4 MFLOP per task) and that the
 * blocked reductions have several blocks.
 */
class ThreadCountIndependenceTest {
    private final Rng rng = new Rng(20261127);

    private float[] normal(int n) { return rng.normal(n, 0, 1); }

    private static Tensor leaf(float[] v, int... shape) { return Tensor.of(cpu(), v, shape).requiresGrad(true); }

    private static Tensor constant(float[] v, int... shape) { return Tensor.of(cpu(), v, shape); }

    /** Σ y·r for a constant r: its backward hands r to y's backward rule. */
    private static Tensor weightedSum(Tensor y, float[] r) {
        return Reductions.sum(Elementwise.mul(y, constant(r, y.shape())));
    }

    @Test void sgemmAtEveryTransposeAndDepthsPastOneChunk() {
        // m, n, k, transA, transB: depth 1100 and 2500 take 2 and 3 depth chunks; odd m and n leave partial tiles
        int[][] shapes = {{203, 151, 1100, 0, 0}, {129, 75, 2500, 1, 0}, {67, 301, 333, 0, 1}, {45, 1999, 57, 1, 1}, {300, 9, 1031, 0, 0}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            boolean ta = s[3] == 1, tb = s[4] == 1;
            float[] a = normal(m * k), b = normal(k * n), r = normal(m * n), c0 = normal(m * n);
            assertSplitIndependent("matmul " + m + "x" + n + "x" + k + (ta ? " A^T" : "") + (tb ? " B^T" : ""), out -> {
                Tensor at = ta ? leaf(a, k, m) : leaf(a, m, k), bt = tb ? leaf(b, n, k) : leaf(b, k, n);
                Tensor y = Linear.matmul(at, ta, bt, tb);
                weightedSum(y, r).backward();
                out.put("C", y.toFloatArray());
                out.put("dA", at.grad().toFloatArray());
                out.put("dB", bt.grad().toFloatArray());
                // alpha != 1 and beta != 0 take the scratch-tile store path
                float[] c = c0.clone();
                Sgemm.gemm(ta, tb, m, n, k, 0.75f, a, 0, ta ? m : k, b, 0, tb ? k : n, -0.5f, c, 0, n);
                out.put("C = 0.75 AB - 0.5 C", c);
            });
        }
    }

    @Test void conv2dForwardAndBothBackwardPasses() {
        // n, ci, h, w, co, k, stride, pad, groups
        int[][] shapes = {{3, 13, 17, 17, 19, 3, 1, 1, 1}, {5, 12, 15, 15, 18, 3, 2, 1, 3}, {3, 21, 13, 11, 35, 1, 2, 0, 1},
                {2, 3, 31, 29, 17, 7, 2, 3, 1}, {3, 64, 9, 9, 66, 3, 1, 1, 2}};
        for (int[] s : shapes) {
            int n = s[0], ci = s[1], h = s[2], w = s[3], co = s[4], k = s[5], stride = s[6], pad = s[7], groups = s[8];
            int ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
            float[] x = normal(n * ci * h * w), wt = normal(co * (ci / groups) * k * k), r = normal(n * co * ho * wo);
            String name = String.format("conv2d x[%d,%d,%d,%d] w[%d,%d,%d,%d] stride %d pad %d groups %d", n, ci, h, w, co, ci / groups, k, k, stride, pad, groups);
            assertSplitIndependent(name, out -> {
                Tensor xt = leaf(x, n, ci, h, w), wtt = leaf(wt, co, ci / groups, k, k);
                Tensor y = Conv.conv2d(xt, wtt, stride, pad, groups);
                weightedSum(y, r).backward();
                out.put("forward", y.toFloatArray());
                out.put("backward-data", xt.grad().toFloatArray());
                out.put("backward-filter", wtt.grad().toFloatArray());
            });
        }
    }

    @Test void batchNormTrainingForwardBackwardAndRunningStatistics() {
        int[][] shapes = {{7, 11, 9, 13}, {3, 37, 5, 5}, {65, 9, 1, 1}, {2, 130, 17, 19}};
        for (int[] s : shapes) {
            int c = s[1];
            float[] x = rng.normal(s[0] * c * s[2] * s[3], 0.3, 2), g = rng.uniformArray(c, 0.5, 1.5), b = normal(c), r = normal(x.length);
            float[] rm = normal(c), rv = rng.uniformArray(c, 0.5, 2);
            assertSplitIndependent("batch_norm x" + java.util.Arrays.toString(s), out -> {
                Tensor xt = leaf(x, s), gt = leaf(g, c), bt = leaf(b, c);
                Tensor rmt = constant(rm, c), rvt = constant(rv, c);
                Tensor y = Norm.batchNormTrain(xt, gt, bt, rmt, rvt, 0.1f, 1e-5f);
                weightedSum(y, r).backward();
                out.put("y", y.toFloatArray());
                out.put("running_mean", rmt.toFloatArray());
                out.put("running_var", rvt.toFloatArray());
                out.put("dx", xt.grad().toFloatArray());
                out.put("dgamma", gt.grad().toFloatArray());
                out.put("dbeta", bt.grad().toFloatArray());
            });
        }
    }

    @Test void reductionsPoolingAndNormalisation() {
        int n = 100_003; // 13 blocks of CpuReduce.BLOCK, the last one partial
        float[] x = rng.normal(n, 0.25, 3);
        float[] img = normal(5 * 7 * 23 * 21), rImg = normal(5 * 7 * 12 * 11), rAvg = normal(5 * 7);
        float[] e = normal(37 * 67), rE = normal(37 * 67);
        assertSplitIndependent("sum, mean, max_pool2d, global_avg_pool, l2_normalize", out -> {
            Tensor xt = leaf(x, n);
            out.put("sum", Reductions.sum(xt).item());
            Tensor mean = Reductions.mean(xt);
            out.put("mean", mean.item());
            mean.backward();
            out.put("d mean", xt.grad().toFloatArray());
            Tensor it = leaf(img, 5, 7, 23, 21);
            Tensor pooled = Pool.maxPool2d(it, 3, 2, 1);
            Tensor avg = Pool.globalAvgPool(it);
            Elementwise.add(weightedSum(pooled, rImg), weightedSum(avg, rAvg)).backward();
            out.put("max_pool2d", pooled.toFloatArray());
            out.put("global_avg_pool", avg.toFloatArray());
            out.put("d pooling", it.grad().toFloatArray());
            Tensor et = leaf(e, 37, 67);
            Tensor normed = Norm.l2Normalize(et);
            weightedSum(normed, rE).backward();
            out.put("l2_normalize", normed.toFloatArray());
            out.put("d l2_normalize", et.grad().toFloatArray());
        });
    }

    @Test void crossEntropyWithAndWithoutLabelSmoothing() {
        int n = 77, k = 23;
        float[] z = rng.normal(n * k, 0, 3);
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) labels[i] = rng.nextInt(k);
        for (float smoothing : new float[]{0f, 0.1f})
            assertSplitIndependent("cross_entropy smoothing " + smoothing, out -> {
                Tensor zt = leaf(z, n, k);
                Tensor loss = Losses.crossEntropy(zt, Tensor.ofLongs(cpu(), labels, n), smoothing);
                loss.backward();
                out.put("loss", loss.item());
                out.put("dlogits", zt.grad().toFloatArray());
            });
    }

    @Test void marginInfoNceAndOfdLosses() {
        int rows = 37, d = 64, queueLen = 1001; // rows not a multiple of the 4-row groups; a partial key tile
        float[] q = normal(rows * d), kp = normal(rows * d), queue = normal(queueLen * d);
        int n = 3, c = 17, h = 11, w = 13;
        float[] s = normal(n * c * h * w), t = normal(n * c * h * w), margin = new float[c];
        for (int i = 0; i < c; i++) margin[i] = (float) Distill.ofdMargin(rng.uniform(0.2, 1.5), rng.uniform(-1, 2));
        assertSplitIndependent("margin_infonce and ofd_loss", out -> {
            // the loss sees L2-normalised embeddings, as in MoCo
            Tensor qt = leaf(q, rows, d);
            Contrastive.InfoNce nce = Contrastive.marginInfoNce(Norm.l2Normalize(qt), Norm.l2Normalize(constant(kp, rows, d)),
                    Norm.l2Normalize(constant(queue, queueLen, d)), 0.4f, 0.2f);
            nce.loss().backward();
            out.put("infonce loss", nce.loss().item());
            out.put("infonce accuracy", nce.accuracy().item());
            out.put("d q", qt.grad().toFloatArray());
            Tensor st = leaf(s, n, c, h, w);
            Tensor ofd = Distill.ofdLoss(st, constant(t, n, c, h, w), constant(margin, c), 1e-4f);
            ofd.backward();
            out.put("ofd loss", ofd.item());
            out.put("d s", st.grad().toFloatArray());
        });
    }

    /**
     * OFD's sum of squares before it is weighted and rounded to float (the rounding hides most
     * differences in how the squares were grouped), recorded as a float pair hi + lo: NCHW runs of
     * 143 and 64 elements sharing a margin, and channels-last runs over 40 channels, with squares
     * spanning twelve orders of magnitude.
     */
    @Test void ofdSumOfSquaresBeforeRounding() {
        for (int[] shape : new int[][]{{3, 17, 11, 13}, {2, 40, 8, 8}}) {
            int n = shape[0], c = shape[1], h = shape[2], w = shape[3], size = n * c * h * w;
            float[] s = normal(size), t = normal(size), margin = new float[c];
            for (int i = 0; i < size; i++) s[i] *= (float) Math.pow(10, rng.uniform(-3, 3));
            for (int i = 0; i < c; i++) margin[i] = (float) Distill.ofdMargin(rng.uniform(0.2, 1.5), rng.uniform(-1, 2));
            for (int channelStride : new int[]{h * w, 1}) // NCHW, and the same memory read as channels-last
                assertSplitIndependent("ofd sum of squares x" + java.util.Arrays.toString(shape) + " channel stride " + channelStride, out -> {
                    double total = CpuOfd.sumOfSquares(constant(s, size), constant(t, size), constant(margin, c), channelStride);
                    float hi = (float) total;
                    out.put("sum (hi, lo)", new float[]{hi, (float) (total - hi)});
                });
        }
    }
}
