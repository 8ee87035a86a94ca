package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.testing.GradCheck;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dvp.engine.testing.Tensors.assertClose;
import static dvp.engine.testing.Tensors.cpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Margin-InfoNCE and the queue against a deliberately naive double-precision implementation. */
class ContrastiveTest {
    private Scope scope;
    private final Rng rng = new Rng(11);

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    /** Unit rows (random directions), the MoCo regime. */
    static float[] unitRows(Rng rng, int rows, int d) {
        float[] v = rng.normal(rows * d, 0, 1);
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < d; c++) s += (double) v[r * d + c] * v[r * d + c];
            float inv = (float) (1 / Math.sqrt(s));
            for (int c = 0; c < d; c++) v[r * d + c] *= inv;
        }
        return v;
    }

    /** Naive reference: all N×(K+1) logits in double, softmax, CE, arg-max, gradient. */
    record Naive(double loss, double accuracy, double[] dq) {}

    static Naive naive(float[] q, float[] k, float[] queue, int n, int d, double m, double tau) {
        int kq = queue.length / d;
        double total = 0;
        int hits = 0;
        double[] dq = new double[n * d];
        for (int i = 0; i < n; i++) {
            double[] z = new double[kq + 1];
            double pos = 0;
            for (int c = 0; c < d; c++) pos += (double) q[i * d + c] * k[i * d + c];
            z[0] = (pos - m) / tau;
            for (int j = 0; j < kq; j++) {
                double s = 0;
                for (int c = 0; c < d; c++) s += (double) q[i * d + c] * queue[j * d + c];
                z[j + 1] = s / tau;
            }
            double max = Double.NEGATIVE_INFINITY;
            int arg = 0;
            for (int a = 0; a <= kq; a++) if (z[a] > max) { max = z[a]; arg = a; }
            double sum = 0;
            for (double v : z) sum += Math.exp(v - max);
            total += max + Math.log(sum) - z[0];
            if (arg == 0) hits++;
            for (int a = 0; a <= kq; a++) {
                double p = Math.exp(z[a] - max) / sum - (a == 0 ? 1 : 0);
                for (int c = 0; c < d; c++)
                    dq[i * d + c] += p * (a == 0 ? k[i * d + c] : queue[(a - 1) * d + c]) / (n * tau);
            }
        }
        return new Naive(total / n, (double) hits / n, dq);
    }

    static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return f;
    }

    static double maxAbs(float[] v) {
        double m = 0;
        for (float x : v) m = Math.max(m, Math.abs(x));
        return m;
    }

    @ParameterizedTest(name = "N={0} d={1} K={2} m={3} tau={4}")
    @CsvSource({
            "5, 3, 7, 0.4, 0.2",        // tiny, K below one tile
            "9, 33, 300, 0.4, 0.2",     // odd sizes: partial tile, d not a lane multiple, ragged row groups
            "16, 128, 4096, 0.4, 0.2",  // the paper's setting (smaller batch)
            "16, 128, 4096, 0.4, 0.07", // MoCo v1's temperature: weights span e^{±14}
            "8, 16, 16, 0.0, 0.1",      // K = N, no margin (plain MoCo)
            "3, 8, 65536, 0.4, 0.07"})  // MoCo's default queue length at small d
    void matchesTheNaiveReference(int n, int d, int k, float m, float tau) {
        float[] q = unitRows(rng, n, d), kp = unitRows(rng, n, d), queue = unitRows(rng, k, d);
        // make some positives genuinely close so both p0≈1 and p0≈0 rows occur
        for (int i = 0; i < n; i += 2) for (int c = 0; c < d; c++) kp[i * d + c] = 0.9f * q[i * d + c] + 0.1f * kp[i * d + c];
        Naive ref = naive(q, kp, queue, n, d, m, tau);
        Tensor tq = Tensor.of(cpu(), q, n, d).requiresGrad(true);
        Contrastive.InfoNce out = Contrastive.marginInfoNce(tq, Tensor.of(cpu(), kp, n, d), Tensor.of(cpu(), queue, k, d), m, tau);
        assertEquals(ref.loss(), out.loss().item(), 2e-6 * Math.max(1, Math.abs(ref.loss())), "loss");
        assertEquals(ref.accuracy(), out.accuracy().item(), 1e-7, "accuracy");
        out.loss().backward();
        float[] expected = toFloat(ref.dq());
        assertClose("dq", expected, tq.grad().toFloatArray(), 1e-5 * maxAbs(expected), 1e-4);
    }

    @Test void gradientCheck() {
        int n = 6, d = 5, k = 11;
        Tensor q = Tensor.of(cpu(), unitRows(rng, n, d), n, d).requiresGrad(true);
        Tensor kp = Tensor.of(cpu(), unitRows(rng, n, d), n, d), queue = Tensor.of(cpu(), unitRows(rng, k, d), k, d);
        GradCheck.defaults().step(1e-3).check("margin_infonce",
                in -> Contrastive.marginInfoNce(in[0], kp, queue, 0.4f, 0.2f).loss(), q);
        // composed with the L2 normalisation that precedes it in MoCo, from unnormalised features
        Tensor u = Tensor.of(cpu(), rng.normal(n * d, 0, 1), n, d).requiresGrad(true);
        GradCheck.defaults().step(1e-3).check("normalize+margin_infonce",
                in -> Contrastive.marginInfoNce(Norm.l2Normalize(in[0]), kp, queue, 0.4f, 0.07f).loss(), u);
    }

    @Test void upstreamGradientScalesDq() {
        int n = 4, d = 8, k = 40;
        float[] qv = unitRows(rng, n, d);
        Tensor kp = Tensor.of(cpu(), unitRows(rng, n, d), n, d), queue = Tensor.of(cpu(), unitRows(rng, k, d), k, d);
        Tensor q1 = Tensor.of(cpu(), qv, n, d).requiresGrad(true), q2 = Tensor.of(cpu(), qv, n, d).requiresGrad(true);
        Contrastive.marginInfoNce(q1, kp, queue, 0.4f, 0.2f).loss().backward();
        Elementwise.scale(Contrastive.marginInfoNce(q2, kp, queue, 0.4f, 0.2f).loss(), -3f).backward();
        float[] g1 = q1.grad().toFloatArray(), g2 = q2.grad().toFloatArray();
        for (int i = 0; i < g1.length; i++) assertEquals(-3f * g1[i], g2[i], 1e-6f * Math.abs(g1[i]) * 3 + 1e-12f);
    }

    @Test void marginIsSubtractedBeforeTheTemperatureAndOnlyFromThePositive() {
        // d = 1: q = 1, k+ = 0.5, queue = {0.25}: z0 = (0.5 - 0.4)/0.2 = 0.5, z1 = 1.25
        Tensor q = Tensor.of(cpu(), new float[]{1}, 1, 1), kp = Tensor.of(cpu(), new float[]{0.5f}, 1, 1);
        Tensor queue = Tensor.of(cpu(), new float[]{0.25f}, 1, 1);
        Contrastive.InfoNce out = Contrastive.marginInfoNce(q, kp, queue, 0.4f, 0.2f);
        assertEquals(Math.log(Math.exp(0.5) + Math.exp(1.25)) - 0.5, out.loss().item(), 1e-6);
        assertEquals(0f, out.accuracy().item(), "the negative wins");
        Contrastive.InfoNce noMargin = Contrastive.marginInfoNce(q, kp, queue, 0f, 0.2f);
        assertEquals(Math.log(Math.exp(2.5) + Math.exp(1.25)) - 2.5, noMargin.loss().item(), 1e-6);
        assertEquals(1f, noMargin.accuracy().item(), "without the margin the positive wins");
    }

    @Test void rowsAreComputedIndependentlyOfTheirPositionInTheBatch() {
        // permuting the batch moves rows to other threads and other register groups: their
        // gradients must be bit-identical, and repeated calls (interpreted, then JIT-compiled) too
        int n = 23, d = 64, k = 1000;
        float[] q = unitRows(rng, n, d), kp = unitRows(rng, n, d);
        Tensor queue = Tensor.of(cpu(), unitRows(rng, k, d), k, d);
        int[] perm = rng.permutation(n);
        float[] qp = new float[q.length], kpp = new float[kp.length];
        for (int i = 0; i < n; i++) {
            System.arraycopy(q, perm[i] * d, qp, i * d, d);
            System.arraycopy(kp, perm[i] * d, kpp, i * d, d);
        }
        float[] g = gradOf(q, kp, queue, n, d), gp = gradOf(qp, kpp, queue, n, d);
        for (int i = 0; i < n; i++)
            for (int c = 0; c < d; c++)
                assertEquals(Float.floatToRawIntBits(g[perm[i] * d + c]), Float.floatToRawIntBits(gp[i * d + c]), "row " + perm[i]);
        float first = lossOf(q, kp, queue, n, d);
        for (int rep = 0; rep < 300; rep++) {
            try (Scope s = Scope.open("rep")) {
                assertEquals(Float.floatToRawIntBits(first), Float.floatToRawIntBits(lossOf(q, kp, queue, n, d)), "repeat " + rep);
            }
        }
        assertArrayEquals(g, gradOf(q, kp, queue, n, d));
    }

    private static float[] gradOf(float[] q, float[] kp, Tensor queue, int n, int d) {
        Tensor tq = Tensor.of(cpu(), q, n, d).requiresGrad(true);
        Contrastive.marginInfoNce(tq, Tensor.of(cpu(), kp, n, d), queue, 0.4f, 0.2f).loss().backward();
        return tq.grad().toFloatArray();
    }

    private static float lossOf(float[] q, float[] kp, Tensor queue, int n, int d) {
        return Contrastive.marginInfoNce(Tensor.of(cpu(), q, n, d), Tensor.of(cpu(), kp, n, d), queue, 0.4f, 0.2f).loss().item();
    }

    @Test void extremeLogitsStayFiniteAndNaNPropagates() {
        // unnormalised rows: logits of ±1e4 / 0.07 would overflow a naive exp
        float[] q = {100, 0, -100, 0}, kp = {100, 0, 0, 100}, queue = {-100, 0, 0, 100, 100, 1};
        Contrastive.InfoNce out = Contrastive.marginInfoNce(Tensor.of(cpu(), q, 2, 2), Tensor.of(cpu(), kp, 2, 2),
                Tensor.of(cpu(), queue, 3, 2), 0.4f, 0.07f);
        Naive ref = naive(q, kp, queue, 2, 2, 0.4, 0.07);
        assertEquals(ref.loss(), out.loss().item(), 1e-6 * Math.abs(ref.loss()));
        q[1] = Float.NaN;
        assertTrue(Float.isNaN(Contrastive.marginInfoNce(Tensor.of(cpu(), q, 2, 2), Tensor.of(cpu(), kp, 2, 2),
                Tensor.of(cpu(), queue, 3, 2), 0.4f, 0.07f).loss().item()), "a NaN input must give a NaN loss");
    }

    @Test void noGradientIsComputedOrRecordedWithoutARequest() {
        Tensor q = Tensor.of(cpu(), unitRows(rng, 2, 4), 2, 4);
        Tensor kp = Tensor.of(cpu(), unitRows(rng, 2, 4), 2, 4), queue = Tensor.of(cpu(), unitRows(rng, 4, 4), 4, 4);
        assertNull(Contrastive.marginInfoNce(q, kp, queue, 0.4f, 0.2f).loss().gradFn());
        Tensor qg = Tensor.of(cpu(), unitRows(rng, 2, 4), 2, 4).requiresGrad(true);
        try (var g = GradMode.noGrad()) {
            assertNull(Contrastive.marginInfoNce(qg, kp, queue, 0.4f, 0.2f).loss().gradFn());
        }
    }

    @Test void argumentErrorsNameTheOpAndShapes() {
        Tensor q = Tensor.zeros(cpu(), 4, 8), kp = Tensor.zeros(cpu(), 4, 8), queue = Tensor.zeros(cpu(), 16, 8);
        var e = assertThrows(IllegalArgumentException.class,
                () -> Contrastive.marginInfoNce(q, kp, Tensor.zeros(cpu(), 8, 16), 0.4f, 0.2f));
        assertEquals("margin_infonce: q [4, 8], kPos [4, 8] and queue [8, 16] must be [N,d], [N,d] and [K,d]", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Contrastive.marginInfoNce(q, kp, queue, 0.4f, 0f));
        Tensor kg = Tensor.zeros(cpu(), 4, 8).requiresGrad(true);
        e = assertThrows(IllegalArgumentException.class, () -> Contrastive.marginInfoNce(q, kg, queue, 0.4f, 0.2f));
        assertTrue(e.getMessage().contains("get no gradient"), e.getMessage());
    }

    @Test void enqueueWritesAtThePointerAndWraps() {
        int k = 6, d = 2, b = 2;
        Tensor queue = Tensor.zeros(cpu(), k, d), ptr = Tensor.ofLongs(cpu(), new long[]{0}, 1);
        for (int step = 0; step < 4; step++) {
            float[] keys = {10 * step + 1, 10 * step + 2, 10 * step + 3, 10 * step + 4};
            Contrastive.enqueue(queue, Tensor.of(cpu(), keys, b, d), ptr);
            assertEquals((step + 1) * b % k, ptr.toLongArray()[0], "pointer after step " + step);
        }
        // steps 0,1,2 filled rows 0-1, 2-3, 4-5; step 3 wrapped onto rows 0-1
        assertArrayEquals(new float[]{31, 32, 33, 34, 11, 12, 13, 14, 21, 22, 23, 24}, queue.toFloatArray());
        var e = assertThrows(IllegalArgumentException.class, () -> Contrastive.enqueue(queue, Tensor.zeros(cpu(), 4, d), ptr));
        assertEquals("enqueue: queue size 6 is not a multiple of the batch 4 (MoCo requires K % batch == 0)", e.getMessage());
        Tensor badPtr = Tensor.ofLongs(cpu(), new long[]{5}, 1);
        var s = assertThrows(IllegalStateException.class, () -> Contrastive.enqueue(queue, Tensor.zeros(cpu(), b, d), badPtr));
        assertTrue(s.getMessage().contains("queue pointer 5 + batch 2"), s.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Contrastive.enqueue(queue, Tensor.zeros(cpu(), b, d).requiresGrad(true), ptr));
        assertEquals(DType.I64, ptr.dtype());
    }
}
