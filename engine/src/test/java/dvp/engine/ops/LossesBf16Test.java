package dvp.engine.ops;

import dvp.engine.Bf16;
import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.spi.Backend;
import dvp.engine.spi.ComputeSettings;
import dvp.engine.spi.Precision;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.api.Test;

import static dvp.engine.testing.Tensors.cpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The two losses under bf16 (issue 18): {@link Contrastive#marginInfoNce} under autocast is exactly
 * "cast q, k⁺ and the queue to bf16, run the bf16 primitive" (its q gradient F32, passed straight
 * through the rounding), and stays the fp32 primitive bit for bit with autocast off;
 * {@link Distill#ofdLoss} takes bf16 features and returns a bf16 gradient that is the CPU's fp32
 * gradient on the same values, rounded once. The primitives' accuracy against the CPU is the
 * parity suite's (Bf16LossChecks); this checks the ops' routing and dtypes.
 */
class LossesBf16Test {
    private static final float MARGIN = 0.4f, TAU = 0.2f;

    @Test
    void marginInfoNceUnderAutocastIsTheBf16PrimitiveOnCastOperands() {
        CudaBackend cuda = CudaTesting.cuda();
        Rng rng = new Rng(41);
        int n = 7, d = 33, k = 131;
        float[] qv = unit(rng.normal(n * d, 0, 1), d), kv = unit(rng.normal(n * d, 0, 1), d), queueV = unit(rng.normal(k * d, 0, 1), d);
        try (Scope s = Scope.open("infonce bf16")) {
            Tensor q = Tensor.of(cuda, qv, n, d).requiresGrad(true), kp = Tensor.of(cuda, kv, n, d), queue = Tensor.of(cuda, queueV, k, d);
            Contrastive.InfoNce low;
            try (var on = Autocast.bf16(cuda)) {
                low = Contrastive.marginInfoNce(q, kp, queue, MARGIN, TAU);
                Elementwise.scale(low.loss(), 3f).backward();
            }
            assertEquals(DType.F32, low.loss().dtype());
            assertEquals(DType.F32, q.grad().dtype(), "an fp32 q gets an fp32 gradient");

            // by hand: the bf16 primitive on the cast operands, its dq scaled by the upstream 3
            Tensor loss = Tensor.empty(cuda, DType.F32), acc = Tensor.empty(cuda, DType.F32), dq = Tensor.empty(cuda, DType.F32, n, d);
            cuda.marginInfoNceForward(bf16(cuda, q), bf16(cuda, kp), bf16(cuda, queue), MARGIN, TAU, loss, acc, dq);
            assertArrayEquals(loss.toFloatArray(), low.loss().toFloatArray(), "loss");
            assertArrayEquals(acc.toFloatArray(), low.accuracy().toFloatArray(), "accuracy");
            float[] expect = dq.toFloatArray();
            for (int i = 0; i < expect.length; i++) expect[i] *= 3f;
            assertArrayEquals(expect, q.grad().toFloatArray(), "q's gradient");

            // autocast off: the fp32 primitive, untouched
            Tensor q32 = Tensor.of(cuda, qv, n, d);
            Tensor loss32 = Tensor.empty(cuda, DType.F32), acc32 = Tensor.empty(cuda, DType.F32);
            cuda.marginInfoNceForward(q32, kp, queue, MARGIN, TAU, loss32, acc32, null);
            float[] plain = Contrastive.marginInfoNce(q32, kp, queue, MARGIN, TAU).loss().toFloatArray();
            assertArrayEquals(loss32.toFloatArray(), plain, "autocast off: the fp32 primitive");
            assertNotEquals(plain[0], low.loss().toFloatArray()[0], "bf16 differs from fp32 here (else it ran in fp32)");
        }
    }

    @Test
    void aBackendConfiguredForBf16RunsMarginInfoNceInBf16() {
        CudaBackend cuda = CudaTesting.cuda();
        ComputeSettings before = cuda.computeSettings();
        Rng rng = new Rng(42);
        int n = 5, d = 17, k = 37;
        float[] qv = unit(rng.normal(n * d, 0, 1), d), kv = unit(rng.normal(n * d, 0, 1), d), queueV = unit(rng.normal(k * d, 0, 1), d);
        try (Scope s = Scope.open("run-wide bf16 infonce")) {
            Tensor q = Tensor.of(cuda, qv, n, d), kp = Tensor.of(cuda, kv, n, d), queue = Tensor.of(cuda, queueV, k, d);
            float byRegion;
            try (var on = Autocast.bf16(cuda)) { byRegion = Contrastive.marginInfoNce(q, kp, queue, MARGIN, TAU).loss().toFloatArray()[0]; }
            float fp32 = Contrastive.marginInfoNce(q, kp, queue, MARGIN, TAU).loss().toFloatArray()[0];
            cuda.configure(new ComputeSettings(Precision.BF16, before.deterministic()));
            assertEquals(byRegion, Contrastive.marginInfoNce(q, kp, queue, MARGIN, TAU).loss().toFloatArray()[0], "--precision bf16");
            try (var off = Autocast.disabled()) {
                assertEquals(fp32, Contrastive.marginInfoNce(q, kp, queue, MARGIN, TAU).loss().toFloatArray()[0], "disabled()");
            }
        } finally {
            cuda.configure(before);
        }
    }

    @Test
    void aBf16QueryGetsABf16Gradient() {
        CudaBackend cuda = CudaTesting.cuda();
        Rng rng = new Rng(43);
        int n = 3, d = 9, k = 11;
        float[] qv = unit(rng.normal(n * d, 0, 1), d), kv = unit(rng.normal(n * d, 0, 1), d), queueV = unit(rng.normal(k * d, 0, 1), d);
        try (Scope s = Scope.open("bf16 q")) {
            Tensor qb = bf16(cuda, Tensor.of(cuda, qv, n, d)).requiresGrad(true);
            Tensor kp = Tensor.of(cuda, kv, n, d), queue = Tensor.of(cuda, queueV, k, d);
            Contrastive.marginInfoNce(qb, kp, queue, MARGIN, TAU).loss().backward(); // autocast off: a BF16 input is enough
            assertEquals(DType.BF16, qb.grad().dtype());
            Tensor dq = Tensor.empty(cuda, DType.F32, n, d);
            cuda.marginInfoNceForward(qb, bf16(cuda, kp), bf16(cuda, queue), MARGIN, TAU, Tensor.empty(cuda, DType.F32),
                    Tensor.empty(cuda, DType.F32), dq);
            float[] expect = dq.toFloatArray();
            for (int i = 0; i < expect.length; i++) expect[i] = Bf16.round(expect[i]);
            assertArrayEquals(expect, f32(cuda, qb.grad()), "the F32 gradient rounded once");
        }
    }

    @Test
    void theCpuReferenceRefusesBf16Losses() {
        try (Scope s = Scope.open("cpu refuses")) {
            Tensor q = bf16(cpu(), Tensor.of(cpu(), new float[]{0.6f, 0.8f}, 1, 2));
            Tensor k = Tensor.of(cpu(), new float[]{1f, 0f}, 1, 2);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Contrastive.marginInfoNce(q, k, k, MARGIN, TAU));
            assertTrue(e.getMessage().startsWith("marginInfoNceForward: the CPU backend computes in F32 only"), e.getMessage());
            Tensor sb = bf16(cpu(), Tensor.of(cpu(), new float[]{1, 2, 3, 4}, 1, 1, 2, 2));
            IllegalArgumentException o = assertThrows(IllegalArgumentException.class,
                    () -> Distill.ofdLoss(sb, sb, Tensor.of(cpu(), new float[]{-0.5f}, 1), 1f));
            assertTrue(o.getMessage().startsWith("ofdLossForward: the CPU backend computes in F32 only"), o.getMessage());
        }
    }

    @Test
    void ofdLossOnBf16FeaturesGivesTheRoundedFp32Gradient() {
        CudaBackend cuda = CudaTesting.cuda();
        Rng rng = new Rng(44);
        int[] shape = {2, 3, 5, 7};
        float[] sv = rounded(rng.normal(210, 0, 1)), tv = rounded(rng.normal(210, 0, 1)), mv = {-0.3f, -0.7f, -0.1f};
        try (Scope sc = Scope.open("ofd bf16")) {
            Tensor s = bf16(cuda, Tensor.of(cuda, sv, shape)).requiresGrad(true), t = bf16(cuda, Tensor.of(cuda, tv, shape));
            Tensor loss = Distill.ofdLoss(s, t, Tensor.of(cuda, mv, 3), 0.5f);
            assertEquals(DType.F32, loss.dtype());
            loss.backward();
            assertEquals(DType.BF16, s.grad().dtype(), "ds in s's dtype");

            Tensor sr = Tensor.of(cpu(), sv, shape).requiresGrad(true);
            Tensor lr = Distill.ofdLoss(sr, Tensor.of(cpu(), tv, shape), Tensor.of(cpu(), mv, 3), 0.5f);
            lr.backward();
            assertEquals(lr.toFloatArray()[0], loss.toFloatArray()[0], 1e-6 * Math.abs(lr.toFloatArray()[0]), "loss: the same terms, summed in another order");
            assertArrayEquals(rounded(sr.grad().toFloatArray()), f32(cuda, s.grad()), "ds: the CPU's fp32 gradient rounded once");

            Tensor t32 = Tensor.of(cuda, tv, shape);
            // bf16 s with fp32 t: both computed in fp32, as PyTorch promotes bf16 with fp32
            float mixed = Distill.ofdLoss(s, t32, Tensor.of(cuda, mv, 3), 1f).toFloatArray()[0];
            float both32 = Distill.ofdLoss(Casts.to(s, DType.F32).detach(), t32, Tensor.of(cuda, mv, 3), 1f).toFloatArray()[0];
            assertEquals(Float.floatToIntBits(both32), Float.floatToIntBits(mixed), "bf16 s with fp32 t = the fp32 loss of s's values");
        }
    }

    private static float[] unit(float[] x, int d) {
        for (int r = 0; r < x.length / d; r++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += (double) x[r * d + j] * x[r * d + j];
            float inv = (float) (1 / Math.sqrt(s));
            for (int j = 0; j < d; j++) x[r * d + j] *= inv;
        }
        return x;
    }

    private static float[] rounded(float[] v) {
        float[] o = new float[v.length];
        for (int i = 0; i < v.length; i++) o[i] = Bf16.round(v[i]);
        return o;
    }

    private static Tensor bf16(Backend be, Tensor t) {
        Tensor b = Tensor.empty(be, DType.BF16, t.shape());
        be.cast(t, b);
        return b;
    }

    private static float[] f32(Backend be, Tensor b) {
        Tensor f = Tensor.empty(be, DType.F32, b.shape());
        be.cast(b, f);
        return f.toFloatArray();
    }
}
