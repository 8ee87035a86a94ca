package dvp.nn.optim;

import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.profile.OpEvent;
import dvp.engine.profile.Primitive;
import dvp.engine.profile.Profiler;
import dvp.engine.profile.ProfilingBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dvp.engine.testing.Tensors.assertClose;
import static dvp.engine.testing.Tensors.cpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** torch.optim.SGD's update rule, computed by hand in double, against Sgd. */
class SgdTest {
    private Scope scope;

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    private static final float[][] GRADS = {{0.5f, -1f, 2f}, {-0.25f, 0.75f, 1f}, {1.5f, 0f, -0.5f}, {0.1f, 0.2f, -0.3f}};

    private static Tensor param(float... v) { return Tensor.of(cpu(), v, v.length).requiresGrad(true); }

    private static void setGrad(Tensor p, float[] g) { p.setGrad(Tensor.of(cpu(), g, g.length)); }

    /** The PyTorch reference loop (torch/optim/sgd.py, _single_tensor_sgd) in double. */
    private static double[] reference(double[] p, double lr, double momentum, double dampening, double wd, boolean nesterov, int steps) {
        double[] buf = null;
        for (int t = 0; t < steps; t++) {
            double[] d = new double[p.length];
            for (int i = 0; i < p.length; i++) d[i] = GRADS[t][i] + wd * p[i];
            if (momentum != 0) {
                if (buf == null) buf = d.clone();
                else for (int i = 0; i < p.length; i++) buf[i] = momentum * buf[i] + (1 - dampening) * d[i];
                for (int i = 0; i < p.length; i++) d[i] = nesterov ? d[i] + momentum * buf[i] : buf[i];
            }
            for (int i = 0; i < p.length; i++) p[i] -= lr * d[i];
        }
        return p;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    @ParameterizedTest(name = "lr={0} momentum={1} dampening={2} wd={3} nesterov={4}")
    @CsvSource({"0.1,0,0,0,false", "0.1,0.9,0,0,false", "0.05,0.9,0.1,0.01,false", "0.1,0.9,0,1e-4,true", "0.3,0.5,0,0.1,true"})
    void matchesPyTorchUpdateRule(double lr, double momentum, double dampening, double wd, boolean nesterov) {
        float[] init = {1f, -2f, 3f};
        Tensor p = param(init);
        try (Sgd opt = Sgd.builder(lr).momentum(momentum).dampening(dampening).weightDecay(wd).nesterov(nesterov)
                .group(Map.of("w", p)).build()) {
            for (int t = 0; t < GRADS.length; t++) {
                setGrad(p, GRADS[t]);
                opt.step();
                double[] expected = reference(new double[]{1, -2, 3}, lr, momentum, dampening, wd, nesterov, t + 1);
                assertClose("step " + (t + 1), toFloat(expected), p.toFloatArray(), 1e-6, 1e-6);
            }
            if (momentum == 0) assertTrue(opt.momentumBuffers().isEmpty());
        }
    }

    @Test
    void firstStepBufferIsTheGradientPlusWeightDecay() {
        Tensor p = param(1f, -2f, 3f);
        try (Sgd opt = Sgd.builder(0.1).momentum(0.9).dampening(0.5).weightDecay(0.1).group(Map.of("w", p)).build()) {
            setGrad(p, GRADS[0]);
            opt.step();
            // dampening does not apply to the first step (PyTorch clones d_p into the buffer)
            assertClose("buffer", new float[]{0.5f + 0.1f, -1f - 0.2f, 2f + 0.3f}, opt.momentumBuffers().get("w").toFloatArray(), 1e-7, 1e-6);
        }
    }

    @Test
    void parameterGroupsUseTheirOwnHyperparametersAndGradlessParamsAreSkipped() {
        Tensor body = param(1f, -2f, 3f), fc = param(1f, -2f, 3f), frozen = param(1f, 2f, 3f);
        Map<String, Tensor> bodyGroup = new LinkedHashMap<>();
        bodyGroup.put("body.w", body);
        bodyGroup.put("body.frozen", frozen);
        try (Sgd opt = Sgd.builder(0.1).momentum(0.9).weightDecay(1e-2).nesterov(true)
                .group(bodyGroup)
                .group(Map.of("fc.weight", fc), h -> h.withLr(1.0).withWeightDecay(0).withNesterov(false))
                .build()) {
            for (int t = 0; t < 3; t++) {
                setGrad(body, GRADS[t]);
                setGrad(fc, GRADS[t]);
                opt.step();
            }
            assertClose("body", toFloat(reference(new double[]{1, -2, 3}, 0.1, 0.9, 0, 1e-2, true, 3)), body.toFloatArray(), 1e-6, 1e-6);
            assertClose("fc", toFloat(reference(new double[]{1, -2, 3}, 1.0, 0.9, 0, 0, false, 3)), fc.toFloatArray(), 1e-6, 1e-6);
            assertClose("no grad, no update (even with weight decay)", new float[]{1f, 2f, 3f}, frozen.toFloatArray(), 0, 0);
            assertNull(opt.momentumBuffers().get("body.frozen"));
            assertEquals(1.0, opt.groups().get(1).lr());
            assertEquals(0.1, opt.groups().get(0).baseLr());
        }
    }

    @Test
    void scheduleSetsEveryGroupsLrFromItsBase() {
        Tensor a = param(1f), b = param(2f);
        try (Sgd opt = Sgd.builder(0.1).group(Map.of("a", a)).group(Map.of("b", b), h -> h.withLr(30)).build()) {
            LrSchedule.multiStep(0.1, 60, 80).apply(opt, 70, 0);
            assertEquals(0.1 * 0.1, opt.groups().get(0).lr(), 1e-15);
            assertEquals(30 * 0.1, opt.groups().get(1).lr(), 1e-12);
            setGrad(a, new float[]{1f});
            opt.step();
            assertClose("a after lr 0.01", new float[]{1f - 0.01f}, a.toFloatArray(), 1e-7, 0);
        }
    }

    @Test
    void momentumBuffersExportAndRestoreContinueExactly() {
        float[] init = {1f, -2f, 3f};
        Tensor ref = param(init), resumed = param(init);
        try (Sgd a = Sgd.builder(0.1).momentum(0.9).weightDecay(1e-3).nesterov(true).group(Map.of("w", ref)).build()) {
            for (int t = 0; t < 4; t++) {
                setGrad(ref, GRADS[t]);
                a.step();
            }
        }
        Map<String, Tensor> saved = new LinkedHashMap<>();
        try (Sgd b = Sgd.builder(0.1).momentum(0.9).weightDecay(1e-3).nesterov(true).group(Map.of("w", resumed)).build()) {
            for (int t = 0; t < 2; t++) {
                setGrad(resumed, GRADS[t]);
                b.step();
            }
            saved.put("w", b.momentumBuffers().get("w").copyContiguous()); // checkpoint
        }
        try (Sgd c = Sgd.builder(0.1).momentum(0.9).weightDecay(1e-3).nesterov(true).group(Map.of("w", resumed)).build()) {
            c.loadMomentumBuffers(saved);
            for (int t = 2; t < 4; t++) {
                setGrad(resumed, GRADS[t]);
                c.step();
            }
        }
        assertClose("resumed == uninterrupted", ref.toFloatArray(), resumed.toFloatArray(), 0, 0);
    }

    @Test
    void zeroGradAndCloseAndErrors() {
        Tensor p = param(1f, 2f, 3f), q = param(4f);
        Sgd opt = Sgd.builder(0.1).momentum(0.9).group(Map.of("p", p, "q", q)).build();
        setGrad(p, GRADS[0]);
        opt.step();
        Tensor buf = opt.momentumBuffers().get("p");
        opt.zeroGrad();
        assertClose("zeroed", new float[3], p.grad().toFloatArray(), 0, 0);
        assertNull(q.grad(), "a missing gradient stays missing");
        var unknown = assertThrows(IllegalArgumentException.class, () -> opt.loadMomentumBuffers(Map.of("r", Tensor.zeros(cpu(), 1))));
        assertTrue(unknown.getMessage().contains("unknown parameter 'r'"), unknown.getMessage());
        var shape = assertThrows(IllegalArgumentException.class, () -> opt.loadMomentumBuffers(Map.of("q", Tensor.zeros(cpu(), 2))));
        assertTrue(shape.getMessage().contains("'q': buffer F32[2] for parameter [1]"), shape.getMessage());
        opt.close();
        assertTrue(buf.isFreed());
        assertThrows(IllegalStateException.class, opt::step);

        var nesterov = assertThrows(IllegalArgumentException.class, () -> Sgd.builder(0.1).nesterov(true).group(Map.of("p", p)).build());
        assertTrue(nesterov.getMessage().contains("Nesterov momentum requires a momentum and zero dampening"), nesterov.getMessage());
        var dup = assertThrows(IllegalArgumentException.class,
                () -> Sgd.builder(0.1).group(Map.of("p", p)).group(Map.of("p", q)).build());
        assertTrue(dup.getMessage().contains("'p' appears in more than one group"), dup.getMessage());
        var alias = assertThrows(IllegalArgumentException.class, () -> Sgd.builder(0.1).group(Map.of("a", p, "b", p)).build());
        assertTrue(alias.getMessage().contains("the same tensor"), alias.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Sgd.builder(-1).group(Map.of("p", p)).build());
        assertFalse(p.isFreed());
    }

    /**
     * The optimizer's path into the backend: one multi-tensor update per group (and per first-step
     * flag: a parameter whose momentum buffer was restored is not on its first step), never the
     * per-parameter primitive, and the result is what per-parameter updates give, bit for bit.
     */
    @Test
    void oneMultiTensorUpdatePerGroupAndFirstStepFlag() {
        ProfilingBackend pb = ProfilingBackend.wrap(cpu());
        float[] a0 = {0.5f, -1f, 2f}, b0 = {1f, 2f, -3f}, c0 = {0.25f, 0.5f, 0.75f};
        Tensor a = Tensor.of(pb, a0, 3).requiresGrad(true), b = Tensor.of(pb, b0, 3).requiresGrad(true);
        Tensor c = Tensor.of(pb, c0, 3).requiresGrad(true);
        Tensor ra = param(a0), rb = param(b0), rc = param(c0);
        Map<String, Tensor> g1 = new LinkedHashMap<>();
        g1.put("a", a);
        g1.put("b", b);
        try (Sgd opt = Sgd.builder(0.1).momentum(0.9).weightDecay(0.01).group(g1).group(Map.of("c", c), h -> h.withLr(0.5)).build();
             Profiler prof = pb.start(Profiler.Options.record())) {
            opt.loadMomentumBuffers(Map.of("b", Tensor.of(cpu(), new float[]{0.1f, 0.2f, 0.3f}, 3)));
            for (int step = 0; step < 2; step++) {
                for (Tensor p : new Tensor[]{a, b, c}) p.setGrad(Tensor.of(pb, GRADS[step], 3));
                opt.step();
            }
            List<OpEvent> ev = prof.events();
            assertEquals(0, ev.stream().filter(e -> e.op() == Primitive.SGD_UPDATE).count(), "per-parameter updates were made");
            // step 0: group 1 as {a (first)} and {b (restored buffer)}, group 2 as {c}; step 1: one call per group
            assertEquals(5, ev.stream().filter(e -> e.op() == Primitive.SGD_UPDATE_MULTI).count());
            assertEquals(2, ev.stream().filter(e -> e.op() == Primitive.FILL).count(), "the lr of each group written once");
        }
        // the same updates, one parameter at a time, with the per-parameter primitive
        Tensor bufA = Tensor.empty(cpu(), dvp.engine.DType.F32, 3), bufB = Tensor.of(cpu(), new float[]{0.1f, 0.2f, 0.3f}, 3);
        Tensor bufC = Tensor.empty(cpu(), dvp.engine.DType.F32, 3);
        for (int step = 0; step < 2; step++) {
            Tensor g = Tensor.of(cpu(), GRADS[step], 3);
            cpu().sgdUpdate(ra, g, bufA, 0.1f, 0.9f, 0f, 0.01f, false, step == 0);
            cpu().sgdUpdate(rb, g, bufB, 0.1f, 0.9f, 0f, 0.01f, false, false);
            cpu().sgdUpdate(rc, g, bufC, 0.5f, 0.9f, 0f, 0.01f, false, step == 0);
        }
        assertArrayEquals(ra.toFloatArray(), a.toFloatArray());
        assertArrayEquals(rb.toFloatArray(), b.toFloatArray());
        assertArrayEquals(rc.toFloatArray(), c.toFloatArray());
    }
}
