package dvp.engine.ops;

import dvp.engine.MemoryFormat;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.testing.GradCheck;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.function.Function;

import static dvp.engine.testing.Tensors.param;
import static dvp.engine.testing.Tensors.randn;
import static dvp.engine.testing.Tensors.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Finite differences through the ops on channels-last inputs (CPU), each op's output layout, and
 * the invariant that a gradient has its tensor's layout. Odd sizes with C > 1 and H·W > 1, so the
 * channels-last memory order differs from NCHW everywhere. Tolerances: GradCheck's defaults (its
 * class comment derives them), batch norm with the same looser step as its NCHW check.
 */
class ChannelsLastGradientTest {
    private static final MemoryFormat CL = MemoryFormat.CHANNELS_LAST;
    private Scope scope;
    private final Rng rng = new Rng(11);
    private final GradCheck gc = GradCheck.defaults();

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    /** A leaf with channels-last strides holding standard-normal values. */
    private Tensor clParam(int... shape) { return param(randn(rng, shape).inFormat(CL)); }

    private void checkKeepsLayout(String op, Function<Tensor[], Tensor> f, Tensor... inputs) {
        gc.check(op, f, inputs);
        Tensor out = f.apply(inputs);
        assertTrue(out.isChannelsLast(), op + " of a channels-last input must be channels-last, got " + out.describe());
    }

    @Test void conversionBothWaysHasTheIdentityGradientAndKeepsValues() {
        Tensor x = param(randn(rng, 2, 3, 5, 7));
        Tensor cl = x.contiguous(CL);
        assertTrue(cl.isChannelsLast() && !cl.isContiguous(), cl.describe());
        assertArrayEquals(x.toFloatArray(), cl.toFloatArray());
        gc.check("contiguous(channels-last)", in -> in[0].contiguous(CL), x);
        Tensor y = clParam(2, 3, 5, 7);
        gc.check("contiguous(nchw) of channels-last", in -> in[0].contiguous(MemoryFormat.CONTIGUOUS), y);
        assertTrue(y.contiguous(CL) == y, "contiguous(format) of a tensor already in it is the tensor itself");
    }

    @Test void leafGradientHasTheLeafsLayout() {
        Tensor x = clParam(2, 3, 5, 7);
        Reductions.sum(Elementwise.mul(x, x)).backward();
        assertTrue(x.grad().isChannelsLast(), x.grad().describe());
        float[] v = x.toFloatArray(), g = x.grad().toFloatArray();
        for (int i = 0; i < v.length; i++) assertTrue(g[i] == 2 * v[i], "d(x²)/dx at " + i);
    }

    @Test void conv2d() {
        Tensor x = clParam(2, 3, 9, 7), w = param(randn(rng, 5, 3, 3, 3));
        checkKeepsLayout("conv2d 3x3 s2 p1", in -> Conv.conv2d(in[0], in[1], 2, 1, 1), x, w);
        checkKeepsLayout("conv2d 1x1 g3", in -> Conv.conv2d(in[0], in[1], 1, 0, 3), clParam(2, 3, 5, 5), param(randn(rng, 6, 1, 1, 1)));
    }

    @Test void batchNormTrainAndEval() {
        Tensor x = clParam(3, 5, 3, 3), g = param(uniform(rng, 0.5, 1.5, 5)), b = param(randn(rng, 5));
        GradCheck loose = gc.step(5e-3);
        loose.check("batch_norm", in -> Norm.batchNormTrain(in[0], in[1], in[2], null, null, 0.1f, 1e-5f), x, g, b);
        assertTrue(Norm.batchNormTrain(x, g, b, null, null, 0.1f, 1e-5f).isChannelsLast());
        Tensor rm = randn(rng, 5), rv = uniform(rng, 0.5, 2, 5);
        checkKeepsLayout("batch_norm(eval)", in -> Norm.batchNormEval(in[0], in[1], in[2], rm, rv, 1e-5f), x, g, b);
    }

    @Test void reluAddMulScale() {
        Tensor a = clParam(2, 3, 5, 7), b = clParam(2, 3, 5, 7), nchw = param(randn(rng, 2, 3, 5, 7));
        checkKeepsLayout("add", in -> Elementwise.add(in[0], in[1]), a, b);
        checkKeepsLayout("add (NCHW second operand: converted)", in -> Elementwise.add(in[0], in[1]), a, nchw);
        checkKeepsLayout("mul", in -> Elementwise.mul(in[0], in[1]), a, b);
        checkKeepsLayout("scale", in -> Elementwise.scale(in[0], -1.5f), a);
        // relu: values (k + 1/2)·0.07 keep every input at least 2h from the kink
        int[] perm = rng.permutation(2 * 3 * 5 * 7);
        float[] v = new float[perm.length];
        for (int i = 0; i < v.length; i++) v[i] = (perm[i] - 105 + 0.5f) * 0.07f;
        Tensor r = param(Tensor.of(dvp.engine.testing.Tensors.cpu(), v, 2, 3, 5, 7).inFormat(CL));
        checkKeepsLayout("relu", in -> Elementwise.relu(in[0]), r);
    }

    @Test void pools() {
        // distinct values so no window has a tie within the finite-difference step
        int n = 2 * 3 * 9 * 7;
        int[] perm = rng.permutation(n);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = perm[i] * 0.05f;
        Tensor x = param(Tensor.of(dvp.engine.testing.Tensors.cpu(), v, 2, 3, 9, 7).inFormat(CL));
        checkKeepsLayout("max_pool2d k3 s2 p1", in -> Pool.maxPool2d(in[0], 3, 2, 1), x);
        gc.check("adaptive_avg_pool2d", in -> Pool.globalAvgPool(in[0]), x);
    }

    @Test void fusedBatchNormReluRunsChannelsLastFused() {
        Tensor x = clParam(3, 5, 3, 3), r = clParam(3, 5, 3, 3), g = param(uniform(rng, 0.5, 1.5, 5)), b = param(randn(rng, 5));
        GradCheck loose = gc.step(5e-3);
        // finite differences without the ReLU (random inputs may sit at its kink); the values below include it
        loose.check("batch_norm_add (channels-last)", in -> Norm.batchNormReluTrain(in[0], in[3], in[1], in[2], null, null, 0.1f, 1e-5f, false),
                x, g, b, r);
        Tensor y = Norm.batchNormReluTrain(x, r, g, b, null, null, 0.1f, 1e-5f, true);
        assertTrue(y.isChannelsLast(), y.describe());
        // one fused node (no separate batch_norm / add / relu), as in NCHW
        assertTrue(y.gradFn() != null && y.gradFn().op().equals("batch_norm_relu"), String.valueOf(y.gradFn()));
        // same values as the fused op on NCHW copies (the CPU's fused reference is the unfused composition)
        Tensor yNchw = Norm.batchNormReluTrain(x.inFormat(MemoryFormat.CONTIGUOUS), r.inFormat(MemoryFormat.CONTIGUOUS), g, b, null, null,
                0.1f, 1e-5f, true);
        assertArrayEquals(yNchw.toFloatArray(), y.toFloatArray());
        // the primitive takes channels-last, but not mixed with NCHW: refused naming the tensors
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> x.backend().batchNormReluTrainForward(x, r, g, b, null, null, 0.1f, 1e-5f, true,
                        Tensor.empty(x.backend(), x.dtype(), x.shape()), Tensor.empty(x.backend(), x.dtype(), 5),
                        Tensor.empty(x.backend(), x.dtype(), 5)));
        assertTrue(e.getMessage().startsWith("batchNormReluTrainForward: mixed layouts"), e.getMessage());
        // the CPU is the fp32 reference: BF16 is refused by name
        Tensor xb = Tensor.empty(x.backend(), dvp.engine.DType.BF16, MemoryFormat.CHANNELS_LAST, x.shape());
        var eb = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Norm.batchNormReluTrain(xb, null, g, b, null, null, 0.1f, 1e-5f, true));
        assertTrue(eb.getMessage().startsWith("batch_norm_relu: input") && eb.getMessage().contains("BF16"), eb.getMessage());
    }

    @Test void mixedLayoutsReachingABackendDirectlyAreRefusedByName() {
        Tensor x = randn(rng, 2, 3, 5, 7).inFormat(CL), y = Tensor.empty(x.backend(), x.dtype(), 2, 3, 5, 7);
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> x.backend().batchNormTrainForward(x, uniform(rng, 1, 1, 3), randn(rng, 3), null, null, 0.1f, 1e-5f, y,
                        Tensor.empty(x.backend(), x.dtype(), 3), Tensor.empty(x.backend(), x.dtype(), 3)));
        assertTrue(e.getMessage().contains("batchNormTrainForward") && e.getMessage().contains("mixed layouts")
                && e.getMessage().contains("channels-last") && e.getMessage().contains("[2, 3, 5, 7]"), e.getMessage());
    }
}
