package dvp.engine.ops;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** OFD margin and partial-L2 loss against naive implementations of their definitions. */
class DistillTest {
    private Scope scope;
    private final Rng rng = new Rng(5);

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    // ---- normal distribution and margin ------------------------------------------------------------

    @Test void erfcMatchesReferenceValues() {
        // values of C's erfc (glibc, < 1 ulp), printed by Python's math.erfc
        double[][] ref = {{0.1, 0.8875370839817152}, {0.5, 0.4795001221869535}, {1, 0.15729920705028513},
                {2, 0.004677734981047265}, {3, 2.2090496998585438e-05}, {5, 1.5374597944280351e-12},
                {10, 2.088487583762545e-45}, {-1, 1.842700792949715}, {-3, 1.9999779095030015}, {0, 1}};
        for (double[] r : ref)
            assertEquals(r[1], NormalDistribution.erfc(r[0]), 1e-13 * r[1], "erfc(" + r[0] + ")");
        assertEquals(0.5, NormalDistribution.cdf(0), 0);
        assertEquals(0.3989422804014327, NormalDistribution.pdf(0), 1e-16);
        assertTrue(Double.isNaN(NormalDistribution.erfc(Double.NaN)));
    }

    /** E[x | x < 0] for x ~ N(mu, sigma²) by Simpson's rule, independent of erfc. */
    private static double conditionalMeanByQuadrature(double mu, double sigma) {
        double lo = Math.min(mu, 0) - 12 * sigma;
        int steps = 200_000;
        double h = -lo / steps, num = 0, den = 0;
        for (int i = 0; i <= steps; i++) {
            double x = lo + i * h, w = i == 0 || i == steps ? 1 : (i % 2 == 1 ? 4 : 2);
            double p = Math.exp(-0.5 * ((x - mu) / sigma) * ((x - mu) / sigma));
            num += w * x * p;
            den += w * p;
        }
        return num / den;
    }

    @ParameterizedTest(name = "gamma={0} beta={1}")
    @CsvSource({"1, 0", "0.5, -1", "-0.5, 0.3", "2, 5", "1, 3.0", "0.01, -0.02", "0.3, 0.9"})
    void marginIsTheConditionalMeanOfTheNegativePart(double gamma, double beta) {
        assertEquals(conditionalMeanByQuadrature(beta, Math.abs(gamma)), Distill.ofdMargin(gamma, beta), 1e-9 * Math.abs(gamma));
    }

    @Test void marginFallsBackToMinusThreeSigmaAndGuardsGammaZero() {
        // Φ(-3.2) = 6.9e-4 ≤ 0.001: fallback; Φ(-3.0) = 1.35e-3: formula
        assertEquals(-3 * 0.5, Distill.ofdMargin(0.5, 1.6), 0);
        assertTrue(Distill.ofdMargin(0.5, 1.5) != -1.5);
        assertEquals(-3 * 0.5, Distill.ofdMargin(-0.5, 1.6), 0, "sigma = |gamma|");
        assertEquals(0, Distill.ofdMargin(0, 1.0), 0);
        assertEquals(0, Distill.ofdMargin(0, -1.0), 0);
        Tensor m = Distill.ofdMargin(Tensor.of(cpu(), new float[]{1, 0, 0.5f, 2}, 4), Tensor.of(cpu(), new float[]{0, 0.3f, 1.6f, -1}, 4));
        float[] v = m.toFloatArray();
        assertEquals((float) Distill.ofdMargin(1, 0), v[0]);
        assertEquals(0f, v[1]);
        assertEquals(-1.5f, v[2]);
        assertTrue(v[3] < -1f, "deep negative mean: the margin is below the mean");
        var e = assertThrows(IllegalStateException.class,
                () -> Distill.ofdMargin(Tensor.of(cpu(), new float[]{1, Float.NaN}, 2), Tensor.of(cpu(), new float[]{0, 0}, 2)));
        assertTrue(e.getMessage().startsWith("ofd_margin: channel 1"), e.getMessage());
    }

    // ---- loss ----------------------------------------------------------------------------------------

    /** DVP's three-case form, element by element in double (NCHW). */
    static double[] naive(float[] s, float[] t, float[] m, int n, int c, int hw, double w) {
        double sum = 0;
        double[] ds = new double[s.length];
        for (int i = 0; i < s.length; i++) {
            int ch = i / hw % c;
            double sv = s[i], tv = t[i], mv = m[ch], e = 0, g = 0;
            if (tv <= mv) { if (sv > mv) { e = (sv - mv) * (sv - mv); g = 2 * (sv - mv); } }
            else if (tv <= 0) { if (sv > tv) { e = (sv - tv) * (sv - tv); g = 2 * (sv - tv); } }
            else { e = (sv - tv) * (sv - tv); g = 2 * (sv - tv); }
            sum += e;
            ds[i] = w * g;
        }
        double[] out = new double[s.length + 1];
        out[0] = w * sum;
        System.arraycopy(ds, 0, out, 1, ds.length);
        return out;
    }

    private float[] margins(int c) {
        float[] m = new float[c];
        for (int i = 0; i < c; i++) m[i] = (float) Distill.ofdMargin(rng.uniform(0.2, 1.5), rng.uniform(-1, 2));
        return m;
    }

    @ParameterizedTest(name = "N={0} C={1} H={2} W={3}")
    @CsvSource({"2, 3, 5, 7", "3, 16, 7, 7", "2, 5, 1, 1", "1, 7, 61, 67"}) // the last spans several blocks, runs cut by block ends
    void matchesTheThreeCaseFormInNchwAndChannelsLast(int n, int c, int h, int w) {
        int numel = n * c * h * w;
        float[] s = rng.normal(numel, 0, 1), t = rng.normal(numel, 0, 1), m = margins(c);
        double[] ref = naive(s, t, m, n, c, h * w, 0.25);
        Tensor ts = Tensor.of(cpu(), s, n, c, h, w).requiresGrad(true);
        Tensor loss = Distill.ofdLoss(ts, Tensor.of(cpu(), t, n, c, h, w), Tensor.of(cpu(), m, c), 0.25f);
        assertEquals(ref[0], loss.item(), 1e-6 * ref[0]);
        loss.backward();
        float[] expected = new float[numel];
        for (int i = 0; i < numel; i++) expected[i] = (float) ref[i + 1];
        float[] ds = ts.grad().toFloatArray();
        assertClose("ds", expected, ds, 1e-7, 1e-6);

        // the same tensors stored channels-last: [N,H,W,C] memory viewed as [N,C,H,W]
        float[] sl = toChannelsLast(s, n, c, h * w), tl = toChannelsLast(t, n, c, h * w);
        Tensor sNhwc = Tensor.of(cpu(), sl, n, h, w, c).permute(0, 3, 1, 2).requiresGrad(true);
        Tensor tNhwc = Tensor.of(cpu(), tl, n, h, w, c).permute(0, 3, 1, 2);
        assertEquals(h * w == 1, sNhwc.isContiguous());
        Tensor lossNhwc = Distill.ofdLoss(sNhwc, tNhwc, Tensor.of(cpu(), m, c), 0.25f);
        assertEquals(ref[0], lossNhwc.item(), 1e-6 * ref[0]);
        lossNhwc.backward();
        assertEquals(1L, Distill.emptyLike(sNhwc).strides()[1], "the gradient is allocated channels-last");
        assertArrayEquals(sNhwc.shape(), Distill.emptyLike(sNhwc).shape());
        assertArrayEquals(ds, sNhwc.grad().toFloatArray(), "same per-element gradient in either layout");
    }

    static float[] toChannelsLast(float[] x, int n, int c, int hw) {
        float[] out = new float[x.length];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < hw; p++) out[(i * hw + p) * c + ch] = x[(i * c + ch) * hw + p];
        return out;
    }

    @Test void gradientCheckAwayFromTheMaskBoundary() {
        // |t - m| ≥ 0.05, |t'| ≥ 0.05 and |s - t'| ≥ 0.05 keep every element at least 2.5 steps from a kink
        int n = 2, c = 3, hw = 10;
        float[] m = {-0.4f, -0.8f, -0.25f};
        float[] s = new float[n * c * hw], t = new float[s.length];
        for (int i = 0; i < s.length; i++) {
            int ch = i / hw % c;
            float tv;
            do tv = (float) rng.uniform(-1.5, 1.5); while (Math.abs(tv - m[ch]) < 0.05 || Math.abs(tv) < 0.05);
            t[i] = tv;
            float tp = Math.max(tv, m[ch]);
            float sign = rng.bernoulli(0.5) ? 1 : -1;
            s[i] = tp + sign * (float) rng.uniform(0.05, 0.6);
        }
        Tensor ts = Tensor.of(cpu(), s, n, c, 2, 5).requiresGrad(true);
        Tensor tt = Tensor.of(cpu(), t, n, c, 2, 5), tm = Tensor.of(cpu(), m, c);
        GradCheck.defaults().step(1e-2).check("ofd_loss", in -> Distill.ofdLoss(in[0], tt, tm, 0.5f), ts);
    }

    @Test void edgeCases() {
        int c = 2, hw = 3;
        float[] m = {-0.5f, 0f}; // channel 1: gamma = 0 → margin 0, the target is relu(t)
        // all-negative teacher; s equal to t' exactly in some places
        float[] t = {-0.1f, -2f, -0.7f, -0.3f, -1f, -0.01f};
        float[] s = {-0.1f, -0.5f, 0.2f, 0f, -0.2f, 0.3f};
        // channel 0 (m = -0.5): t' = -0.1 (s = t' → 0), -0.5 (s = t' → 0), -0.5 (s > t': 0.7²)
        // channel 1 (m = 0):    t' = 0    (s = t' → 0),  0   (s < 0 → 0),    0   (s > 0: 0.3²)
        Tensor ts = Tensor.of(cpu(), s, 1, c, hw).requiresGrad(true);
        Tensor loss = Distill.ofdLoss(ts, Tensor.of(cpu(), t, 1, c, hw), Tensor.of(cpu(), m, c), 1f);
        assertEquals((0.2f + 0.5f) * (0.2f + 0.5f) + 0.3f * 0.3f, loss.item(), 1e-6);
        loss.backward();
        assertClose("ds", new float[]{0, 0, 2 * 0.7f, 0, 0, 2 * 0.3f}, ts.grad().toFloatArray(), 1e-6, 1e-6);
        // positive teacher: loss even where the student is below it
        Tensor pos = Distill.ofdLoss(Tensor.of(cpu(), new float[]{-1f}, 1, 1), Tensor.of(cpu(), new float[]{0.5f}, 1, 1),
                Tensor.of(cpu(), new float[]{-0.3f}, 1), 1f);
        assertEquals(2.25f, pos.item(), 1e-6);
        // NaN reaches the loss instead of being masked away
        Tensor nan = Distill.ofdLoss(Tensor.of(cpu(), new float[]{Float.NaN, 1}, 1, 2), Tensor.of(cpu(), new float[]{-3, 0}, 1, 2),
                Tensor.of(cpu(), new float[]{-1, -1}, 2), 1f);
        assertTrue(Float.isNaN(nan.item()));
        // a NaN teacher value inside a vectorised run (64 elements of one channel) too
        float[] tv = new float[64], sv = new float[64];
        tv[37] = Float.NaN;
        Tensor sNan = Tensor.of(cpu(), sv, 1, 1, 64).requiresGrad(true);
        Tensor lossNan = Distill.ofdLoss(sNan, Tensor.of(cpu(), tv, 1, 1, 64), Tensor.of(cpu(), new float[]{-1}, 1), 1f);
        assertTrue(Float.isNaN(lossNan.item()), "NaN in t must reach the loss");
        lossNan.backward();
        assertTrue(Float.isNaN(sNan.grad().toFloatArray()[37]));
        assertEquals(0f, sNan.grad().toFloatArray()[36]);
    }

    @Test void upstreamGradientAndStageWeightScaleTheGradient() {
        float[] s = rng.normal(60, 0, 1), t = rng.normal(60, 0, 1), m = margins(3);
        Tensor a = Tensor.of(cpu(), s, 2, 3, 10).requiresGrad(true), b = Tensor.of(cpu(), s, 2, 3, 10).requiresGrad(true);
        Tensor tt = Tensor.of(cpu(), t, 2, 3, 10), tm = Tensor.of(cpu(), m, 3);
        Distill.ofdLoss(a, tt, tm, 1f).backward();
        Elementwise.scale(Distill.ofdLoss(b, tt, tm, 0.125f), 1e-4f).backward();
        float[] ga = a.grad().toFloatArray(), gb = b.grad().toFloatArray();
        for (int i = 0; i < ga.length; i++) assertEquals(ga[i] * 0.125e-4f, gb[i], 1e-6f * Math.abs(ga[i] * 0.125e-4f));
    }

    @Test void argumentErrors() {
        Tensor s = Tensor.zeros(cpu(), 2, 3, 4), t = Tensor.zeros(cpu(), 2, 3, 4);
        var e = assertThrows(IllegalArgumentException.class, () -> Distill.ofdLoss(s, t, Tensor.zeros(cpu(), 4), 1f));
        assertEquals("ofd_loss: margin must have shape [3], got [4]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Distill.ofdLoss(s, Tensor.zeros(cpu(), 2, 3, 5), Tensor.zeros(cpu(), 3), 1f));
        assertTrue(e.getMessage().startsWith("ofd_loss: shapes must match"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Distill.ofdLoss(s, Tensor.zeros(cpu(), 2, 3, 4).requiresGrad(true), Tensor.zeros(cpu(), 3), 1f));
        assertTrue(e.getMessage().contains("constants of this loss"), e.getMessage());
    }
}
