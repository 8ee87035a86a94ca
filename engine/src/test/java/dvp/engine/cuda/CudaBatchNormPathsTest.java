package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.MemoryFormat;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.parity.ParityChecks;
import dvp.engine.parity.ParityResult;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Both batch-norm implementations of the CUDA backend, cuDNN's and dvp's own kernels (batchnorm.cu),
 * against the CPU reference: PyTorch's default eps takes the cuDNN path (cuDNN 9's
 * CUDNN_BN_MIN_EPSILON is 0.0; compared with cuDNN 7's 1e-5, the float 1e-5f never did), every
 * batch-norm check of {@link ParityChecks} passes on each path and with the forward on one path and
 * the backward on the other, and the own kernels round every element exactly as CpuBatchNorm does
 * (fused multiply-adds), bit for bit wherever the statistics are exact.
 */
class CudaBatchNormPathsTest {
    private static final long SEED = 20200814L;
    /** ParityChecks' tolerance for normalisations: max|dut - ref| / max|ref| (sums in another order). */
    private static final double NORM = 1e-4;

    @Test
    void pytorchsDefaultEpsTakesCudnnsPath() {
        CudaBackend cuda = CudaTesting.cuda();
        CudaContext ctx = CudaContext.get();
        boolean was = cuda.cudnnBatchNorm();
        try {
            cuda.setCudnnBatchNorm(true);
            assertEquals(CudaBatchNorm.Path.CUDNN, CudaBatchNorm.path(ctx, 1e-5f), "torch.nn.BatchNorm2d's eps (1e-5f < 1e-5 in double)");
            assertEquals(CudaBatchNorm.Path.CUDNN, CudaBatchNorm.path(ctx, 1e-3f));
            assertEquals(CudaBatchNorm.Path.CUDNN, CudaBatchNorm.path(ctx, 0f), "cuDNN 9's minimum is 0.0");
            assertEquals(CudaBatchNorm.Path.OWN_KERNELS, CudaBatchNorm.path(ctx, -1e-5f), "below cuDNN's minimum");
            assertEquals(CudaBatchNorm.Path.OWN_KERNELS, CudaBatchNorm.path(ctx, Float.NaN));
            cuda.setCudnnBatchNorm(false);
            assertEquals(CudaBatchNorm.Path.OWN_KERNELS, CudaBatchNorm.path(ctx, 1e-5f), "switched off");
        } finally {
            cuda.setCudnnBatchNorm(was);
        }
    }

    @Test
    void everyBatchNormParityCheckPassesOnBothPaths() {
        CudaBackend cuda = CudaTesting.cuda();
        // the NCHW checks and the channels-last one ("channels-last: batchNormTrain")
        List<ParityChecks.Check> bn = ParityChecks.all().stream().filter(c -> c.op().endsWith("batchNormTrain")).toList();
        assertTrue(bn.size() >= 4, "the batch-norm checks: " + bn.size());
        boolean was = cuda.cudnnBatchNorm();
        StringBuilder failures = new StringBuilder();
        try {
            for (boolean viaCudnn : new boolean[]{true, false}) {
                cuda.setCudnnBatchNorm(viaCudnn);
                for (ParityChecks.Check check : bn) {
                    List<ParityResult> rs = ParityChecks.run(check, Backends.cpu(), cuda, SEED);
                    assertEquals(8, rs.size(), "outputs compared by " + check.shape());
                    for (ParityResult r : rs) if (!r.pass()) failures.append('\n').append(viaCudnn ? "cuDNN: " : "own kernels: ").append(r.row());
                }
            }
        } finally {
            cuda.setCudnnBatchNorm(was);
        }
        assertTrue(failures.isEmpty(), "parity failures:" + failures);
    }

    /** Forward by one implementation, backward by the other: the saved statistics mean the same on both. */
    @Test
    void aForwardOnOnePathAndTheBackwardOnTheOtherAgree() {
        CudaBackend cuda = CudaTesting.cuda();
        boolean was = cuda.cudnnBatchNorm();
        StringBuilder failures = new StringBuilder();
        try {
            for (boolean forwardViaCudnn : new boolean[]{true, false}) {
                int[] xs = {3, 6, 7, 5};
                ParityChecks.Check mixed = new ParityChecks.Check("batchNormTrain (mixed paths)", "[3,6,7,5]", c -> {
                    int ch = xs[1];
                    ParityChecks.Pair x = c.randn(xs), gamma = c.uniform(0.5f, 1.5f, ch), beta = c.randn(ch);
                    ParityChecks.Pair rm = c.randn(ch), rv = c.uniform(0.5f, 2f, ch);
                    ParityChecks.Pair y = c.out(xs), mean = c.out(ch), inv = c.out(ch);
                    ParityChecks.Pair dy = c.randn(xs), dx = c.out(xs), dg = c.out(ch), db = c.out(ch);
                    cuda.setCudnnBatchNorm(forwardViaCudnn);
                    c.ref.batchNormTrainForward(x.ref(), gamma.ref(), beta.ref(), rm.ref(), rv.ref(), 0.1f, 1e-5f, y.ref(), mean.ref(), inv.ref());
                    c.dut.batchNormTrainForward(x.dut(), gamma.dut(), beta.dut(), rm.dut(), rv.dut(), 0.1f, 1e-5f, y.dut(), mean.dut(), inv.dut());
                    cuda.setCudnnBatchNorm(!forwardViaCudnn);
                    c.ref.batchNormTrainBackward(x.ref(), dy.ref(), gamma.ref(), mean.ref(), inv.ref(), dx.ref(), dg.ref(), db.ref());
                    c.dut.batchNormTrainBackward(x.dut(), dy.dut(), gamma.dut(), mean.dut(), inv.dut(), dx.dut(), dg.dut(), db.dut());
                    c.compare("y", y, NORM);
                    c.compare("dx", dx, NORM);
                    c.compare("dgamma", dg, NORM);
                    c.compare("dbeta", db, NORM);
                });
                for (ParityResult r : ParityChecks.run(mixed, Backends.cpu(), cuda, SEED))
                    if (!r.pass()) failures.append('\n').append(forwardViaCudnn ? "cuDNN fwd/own bwd: " : "own fwd/cuDNN bwd: ").append(r.row());
            }
        } finally {
            cuda.setCudnnBatchNorm(was);
        }
        assertTrue(failures.isEmpty(), "parity failures:" + failures);
    }

    /**
     * The own kernels' per-element arithmetic is the reference's: with statistics that every
     * implementation computes exactly (each channel holds m ± 0.5 in equal numbers, so the mean is m,
     * the biased variance 1/4 and, with eps 0, invstd exactly 2; dy is a multiple of 2^-10, so every
     * sum of dy and dy*xhat is exact in float lanes and in double), the summation order no longer
     * matters and y, dx, dgamma, dbeta, the saved and the running statistics must be bit-identical to
     * CpuBatchNorm's. y = x*scale + shift and dx = dy*a + (x - mean)*b + shift are rounded once
     * (fused multiply-adds) there; rounding the product first, as batchnorm.cu once did, changes the
     * last bit of many elements.
     */
    @Test
    void ownKernelsRoundEachElementExactlyLikeTheCpuReference() {
        CudaBackend cuda = CudaTesting.cuda();
        Backend cpu = Backends.cpu();
        int n = 4, c = 3, h = 5, w = 5, plane = h * w;
        float[] means = {0.75f, -1.25f, 3.5f};
        Rng rng = new Rng(7);
        float[] x = new float[n * c * plane], dy = new float[x.length];
        for (int ch = 0; ch < c; ch++) {
            // n*plane = 100 values per channel: 50 at m - 0.5, 50 at m + 0.5, in a random order
            List<Float> vals = new ArrayList<>();
            for (int i = 0; i < n * plane; i++) vals.add(means[ch] + (i % 2 == 0 ? -0.5f : 0.5f));
            java.util.Collections.shuffle(vals, new java.util.Random(ch + 11));
            for (int i = 0; i < n; i++) for (int p = 0; p < plane; p++) x[(i * c + ch) * plane + p] = vals.get(i * plane + p);
        }
        for (int i = 0; i < dy.length; i++) dy[i] = Math.round(rng.nextGaussian() * 1024) / 1024f;
        float[] gamma = new float[c], beta = new float[c], rm = new float[c], rv = new float[c];
        for (int i = 0; i < c; i++) {
            gamma[i] = 0.5f + rng.nextFloat();
            beta[i] = (float) rng.nextGaussian();
            rm[i] = (float) rng.nextGaussian();
            rv[i] = 0.5f + rng.nextFloat();
        }
        boolean was = cuda.cudnnBatchNorm();
        cuda.setCudnnBatchNorm(false);
        try (Scope s = Scope.open("bn bits")) {
            float[][] want = bn(cpu, x, dy, gamma, beta, rm, rv, n, c, h, w), got = bn(cuda, x, dy, gamma, beta, rm, rv, n, c, h, w);
            String[] names = {"y", "saveMean", "saveInvStd", "runningMean", "runningVar", "dx", "dgamma", "dbeta"};
            assertEquals(2f, want[2][0], "the reference's invstd is exact");
            for (int k = 0; k < names.length; k++) assertArrayEquals(want[k], got[k], names[k] + " (own kernels vs CpuBatchNorm, bit for bit)");
            assertFalse(java.util.Arrays.equals(want[0], unfused(x, want[1], want[2], gamma, beta, c, plane)),
                    "the inputs must tell fused from unfused rounding, or this test proves nothing");
        } finally {
            cuda.setCudnnBatchNorm(was);
        }
    }

    /**
     * The own kernels run channels-last as the same kernels over CudaLayout's view (pixels as images,
     * plane 1), which keeps each channel's element order, so on random data every output is bit for
     * bit the NCHW run's.
     */
    @Test
    void ownKernelsOnChannelsLastAreBitIdenticalToTheirNchwRun() {
        CudaBackend cuda = CudaTesting.cuda();
        int n = 3, c = 5, h = 7, w = 9;
        Rng rng = new Rng(13);
        float[] x = rng.normal(n * c * h * w, 0.3, 1.7), dy = rng.normal(n * c * h * w, 0, 1);
        float[] gamma = rng.normal(c, 1, 0.2), beta = rng.normal(c, 0, 1), rm = rng.normal(c, 0, 1), rv = rng.normal(c, 2, 0.1);
        boolean was = cuda.cudnnBatchNorm();
        cuda.setCudnnBatchNorm(false);
        try (Scope s = Scope.open("bn channels-last bits")) {
            float[][] nchw = bn(cuda, x, dy, gamma, beta, rm, rv, n, c, h, w, MemoryFormat.CONTIGUOUS);
            float[][] cl = bn(cuda, x, dy, gamma, beta, rm, rv, n, c, h, w, MemoryFormat.CHANNELS_LAST);
            String[] names = {"y", "saveMean", "saveInvStd", "runningMean", "runningVar", "dx", "dgamma", "dbeta"};
            for (int k = 0; k < names.length; k++) assertArrayEquals(nchw[k], cl[k], names[k] + " (own kernels, channels-last vs NCHW)");
        } finally {
            cuda.setCudnnBatchNorm(was);
        }
    }

    /** y as batchnorm.cu computed it before: round(round(x*scale) + shift). */
    private static float[] unfused(float[] x, float[] mean, float[] inv, float[] gamma, float[] beta, int c, int plane) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            int ch = (i / plane) % c;
            double invD = inv[ch], meanD = mean[ch];
            float scale = (float) (gamma[ch] * invD), shift = (float) (beta[ch] - meanD * gamma[ch] * invD);
            y[i] = x[i] * scale + shift; // Java rounds the product, then the sum
        }
        return y;
    }

    private static float[][] bn(Backend be, float[] xv, float[] dyv, float[] g, float[] b, float[] rm0, float[] rv0, int n, int c, int h, int w) {
        return bn(be, xv, dyv, g, b, rm0, rv0, n, c, h, w, MemoryFormat.CONTIGUOUS);
    }

    /** Forward (eps 0) and backward with x, dy, y and dx in the given layout; results read back in logical order. */
    private static float[][] bn(Backend be, float[] xv, float[] dyv, float[] g, float[] b, float[] rm0, float[] rv0, int n, int c, int h, int w,
                                MemoryFormat f) {
        Tensor x = Tensor.of(be, xv, n, c, h, w).inFormat(f), dy = Tensor.of(be, dyv, n, c, h, w).inFormat(f);
        Tensor gamma = Tensor.of(be, g, c), beta = Tensor.of(be, b, c), rm = Tensor.of(be, rm0.clone(), c), rv = Tensor.of(be, rv0.clone(), c);
        Tensor y = Tensor.empty(be, DType.F32, f, n, c, h, w), mean = Tensor.empty(be, DType.F32, c), inv = Tensor.empty(be, DType.F32, c);
        Tensor dx = Tensor.empty(be, DType.F32, f, n, c, h, w), dg = Tensor.empty(be, DType.F32, c), db = Tensor.empty(be, DType.F32, c);
        be.batchNormTrainForward(x, gamma, beta, rm, rv, 0.1f, 0f, y, mean, inv);
        be.batchNormTrainBackward(x, dy, gamma, mean, inv, dx, dg, db);
        return new float[][]{y.toFloatArray(), mean.toFloatArray(), inv.toFloatArray(), rm.toFloatArray(), rv.toFloatArray(),
                dx.toFloatArray(), dg.toFloatArray(), db.toFloatArray()};
    }
}
