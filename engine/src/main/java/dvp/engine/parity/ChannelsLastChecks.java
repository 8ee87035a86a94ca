package dvp.engine.parity;

import dvp.engine.DType;
import dvp.engine.MemoryFormat;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.ops.Conv;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Norm;
import dvp.engine.ops.Pool;
import dvp.engine.ops.Reductions;
import dvp.engine.parity.ParityChecks.Check;
import dvp.engine.parity.ParityChecks.Ctx;
import dvp.engine.parity.ParityChecks.Pair;
import dvp.engine.spi.ConvSpec;
import dvp.engine.spi.PoolSpec;

import java.util.ArrayList;
import java.util.List;

import static dvp.engine.parity.ParityChecks.BITWISE;
import static dvp.engine.parity.ParityChecks.GEMM;
import static dvp.engine.parity.ParityChecks.NORM;
import static dvp.engine.parity.ParityChecks.REDUCE;

/**
 * The channels-last half of the parity suite: every primitive that takes channels-last activations,
 * run on the reference with plain NCHW tensors and on the backend under test with the same values in
 * channels-last tensors (outputs poisoned), compared logically (element [n, c, h, w] against
 * [n, c, h, w]); then the ops on a channels-last input, whose results must stay channels-last.
 * Shapes are odd and C > 1, H·W > 1, so the two memory orders differ everywhere.
 *
 * <p>Tolerances are those of the NCHW twin of each check (ParityChecks): the CUDA channels-last
 * kernels visit the same elements in the same order as their NCHW versions (pool_nhwc.cu, and the
 * per-channel kernels through CudaLayout's view), so what is bitwise there is bitwise here; cuDNN's
 * NHWC convolutions and batch norm sum in their own order, as in NCHW (GEMM, NORM). On the CPU both
 * sides run the same NCHW kernels on the same values: zero difference (the harness checks it).
 */
final class ChannelsLastChecks {
    private ChannelsLastChecks() {}

    private static final MemoryFormat CL = MemoryFormat.CHANNELS_LAST;

    /** The values of p on the reference as they are (NCHW), on the backend under test channels-last. */
    private static Pair dutChannelsLast(Pair p) { return new Pair(p.ref(), p.dut().inFormat(CL)); }

    /** An output: NCHW on the reference, channels-last on the backend under test, both poisoned. */
    private static Pair out(Ctx c, DType dtype, int... shape) {
        Tensor r = Tensor.empty(c.ref, dtype, shape), d = Tensor.empty(c.dut, dtype, CL, shape);
        double poison = dtype.isFloating() ? Double.NaN : -1;
        c.ref.fill(r, poison);
        c.dut.fill(d, poison);
        return new Pair(r, d);
    }

    private static Pair out(Ctx c, int... shape) { return out(c, DType.F32, shape); }

    /** A primitive must write its output in place: the preallocated channels-last tensor keeps its strides. */
    private static void compare(Ctx c, String output, Pair p, double tol) {
        c.compare(output, p, tol);
        if (!p.dut().isChannelsLast())
            throw new AssertionError("channels-last output " + output + " lost its layout: " + p.dut().describe());
    }

    static List<Check> all() {
        List<Check> l = new ArrayList<>();
        l.add(new Check("channels-last: contiguous(CHANNELS_LAST) and back", "[3,5,7,9]", c -> {
            Pair x = c.randn(3, 5, 7, 9);
            Tensor cl = x.dut().contiguous(CL);
            if (!cl.isChannelsLast() || cl.isContiguous() || !java.util.Arrays.equals(cl.strides(), new long[]{315, 1, 45, 5}))
                throw new AssertionError("contiguous(CHANNELS_LAST) gave strides " + java.util.Arrays.toString(cl.strides()));
            c.compare("to channels-last", new Pair(x.ref(), cl), 0);
            Tensor back = cl.contiguous(MemoryFormat.CONTIGUOUS);
            if (!back.isContiguous()) throw new AssertionError("contiguous(CONTIGUOUS) gave " + back.describe());
            c.compare("back to NCHW", new Pair(x.ref(), back), 0);
        }));
        l.add(new Check("channels-last: relu / reluBackward / axpby / mul", "[3,5,7,9]", c -> {
            int[] s = {3, 5, 7, 9};
            Pair x = dutChannelsLast(c.randn(s)), b = dutChannelsLast(c.randn(s)), dy = dutChannelsLast(c.randn(s));
            Pair y = out(c, s), dx = out(c, s), sum = out(c, s), prod = out(c, s);
            c.both(be -> be.relu(x.ref(), y.ref()), be -> be.relu(x.dut(), y.dut()));
            compare(c, "relu", y, BITWISE);
            c.both(be -> be.reluBackward(y.ref(), dy.ref(), dx.ref()), be -> be.reluBackward(y.dut(), dy.dut(), dx.dut()));
            compare(c, "relu dx", dx, BITWISE);
            c.both(be -> be.axpby(0.5f, x.ref(), -2f, b.ref(), sum.ref()), be -> be.axpby(0.5f, x.dut(), -2f, b.dut(), sum.dut()));
            compare(c, "axpby", sum, BITWISE);
            c.both(be -> be.mul(x.ref(), b.ref(), prod.ref()), be -> be.mul(x.dut(), b.dut(), prod.dut()));
            compare(c, "mul", prod, BITWISE);
        }));
        l.add(new Check("channels-last: channelAffine / Sum / Dot", "[3,5,11,13]", c -> {
            int[] s = {3, 5, 11, 13};
            Pair x = dutChannelsLast(c.randn(s)), y2 = dutChannelsLast(c.randn(s)), sc = c.randn(5), sh = c.randn(5);
            Pair y = out(c, s), cs = c.out(5), cd = c.out(5);
            c.both(be -> be.channelAffine(x.ref(), sc.ref(), sh.ref(), y.ref()), be -> be.channelAffine(x.dut(), sc.dut(), sh.dut(), y.dut()));
            compare(c, "affine", y, BITWISE);
            c.both(be -> be.channelSum(x.ref(), cs.ref()), be -> be.channelSum(x.dut(), cs.dut()));
            c.compare("sum", cs, REDUCE);
            c.both(be -> be.channelDot(x.ref(), y2.ref(), cd.ref()), be -> be.channelDot(x.dut(), y2.dut(), cd.dut()));
            c.compare("dot", cd, REDUCE);
        }));
        conv(l, "3x3 s1 p1", new int[]{3, 5, 13, 11}, new int[]{7, 5, 3, 3}, ConvSpec.of(1, 1, 1));
        conv(l, "3x3 s2 p1 g2", new int[]{2, 6, 15, 15}, new int[]{10, 3, 3, 3}, ConvSpec.of(2, 1, 2));
        conv(l, "1x1 s2", new int[]{3, 9, 9, 9}, new int[]{5, 9, 1, 1}, ConvSpec.of(2, 0, 1));
        conv(l, "7x7 s2 p3", new int[]{2, 3, 23, 23}, new int[]{8, 3, 7, 7}, ConvSpec.of(2, 3, 1));
        l.add(new Check("channels-last: batchNormTrain", "[5,7,9,11]", c -> {
            int[] xs = {5, 7, 9, 11};
            int ch = xs[1];
            Pair x = dutChannelsLast(c.randn(xs)), gamma = c.uniform(0.5f, 1.5f, ch), beta = c.randn(ch);
            Pair rm = c.randn(ch), rv = c.uniform(0.5f, 2f, ch);
            Pair y = out(c, xs), mean = c.out(ch), inv = c.out(ch);
            Pair dy = dutChannelsLast(c.randn(xs)), dx = out(c, xs), dg = c.out(ch), db = c.out(ch);
            c.ref.batchNormTrainForward(x.ref(), gamma.ref(), beta.ref(), rm.ref(), rv.ref(), 0.1f, 1e-5f, y.ref(), mean.ref(), inv.ref());
            c.dut.batchNormTrainForward(x.dut(), gamma.dut(), beta.dut(), rm.dut(), rv.dut(), 0.1f, 1e-5f, y.dut(), mean.dut(), inv.dut());
            compare(c, "y", y, NORM);
            c.compare("mean", mean, NORM);
            c.compare("invstd", inv, NORM);
            c.compare("run_mean", rm, NORM);
            c.compare("run_var", rv, NORM);
            c.ref.batchNormTrainBackward(x.ref(), dy.ref(), gamma.ref(), mean.ref(), inv.ref(), dx.ref(), dg.ref(), db.ref());
            c.dut.batchNormTrainBackward(x.dut(), dy.dut(), gamma.dut(), mean.dut(), inv.dut(), dx.dut(), dg.dut(), db.dut());
            compare(c, "dx", dx, NORM);
            c.compare("dgamma", dg, NORM);
            c.compare("dbeta", db, NORM);
        }));
        l.add(new Check("channels-last: maxPool2d k3 s2 p1", "[3,5,17,15]", c -> {
            int[] xs = {3, 5, 17, 15};
            PoolSpec p = new PoolSpec(3, 2, 1);
            int ho = p.out(17), wo = p.out(15);
            Pair x = dutChannelsLast(c.randn(xs)), y = out(c, 3, 5, ho, wo), am = out(c, DType.I32, 3, 5, ho, wo);
            Pair dy = dutChannelsLast(c.randn(3, 5, ho, wo)), dx = out(c, xs);
            c.both(be -> be.maxPool2dForward(x.ref(), y.ref(), am.ref(), p), be -> be.maxPool2dForward(x.dut(), y.dut(), am.dut(), p));
            compare(c, "y", y, 0);
            compare(c, "argmax", am, 0);
            c.both(be -> be.maxPool2dBackward(dy.ref(), am.ref(), dx.ref()), be -> be.maxPool2dBackward(dy.dut(), am.dut(), dx.dut()));
            compare(c, "dx", dx, BITWISE);
        }));
        l.add(new Check("channels-last: globalAvgPool", "[3,7,9,11]", c -> {
            Pair x = dutChannelsLast(c.randn(3, 7, 9, 11)), y = c.out(3, 7), dy = c.randn(3, 7), dx = out(c, 3, 7, 9, 11);
            c.both(be -> be.globalAvgPoolForward(x.ref(), y.ref()), be -> be.globalAvgPoolForward(x.dut(), y.dut()));
            c.compare("y", y, REDUCE);
            c.both(be -> be.globalAvgPoolBackward(dy.ref(), dx.ref()), be -> be.globalAvgPoolBackward(dy.dut(), dx.dut()));
            compare(c, "dx", dx, BITWISE);
        }));
        l.add(new Check("channels-last: ops keep the layout (conv, bn, relu, max pool, add, avg pool) + backward", "[3,5,13,11]",
                ChannelsLastChecks::residualBlock));
        return l;
    }

    private static void conv(List<Check> l, String name, int[] xs, int[] ws, ConvSpec spec) {
        int ho = spec.outH(xs[2], ws[2]), wo = spec.outW(xs[3], ws[3]);
        int[] ys = {xs[0], ws[0], ho, wo};
        l.add(new Check("channels-last: conv " + name, Shape.str(xs) + "*" + Shape.str(ws), c -> {
            // the weight stays OIHW on both sides: only activations are channels-last
            Pair x = dutChannelsLast(c.randn(xs)), w = c.randn(ws), y = out(c, ys), dy = dutChannelsLast(c.randn(ys));
            Pair dx = out(c, xs), dw = c.out(ws);
            c.both(be -> be.conv2dForward(x.ref(), w.ref(), y.ref(), spec), be -> be.conv2dForward(x.dut(), w.dut(), y.dut(), spec));
            compare(c, "y", y, GEMM);
            c.both(be -> be.conv2dBackwardData(dy.ref(), w.ref(), dx.ref(), spec), be -> be.conv2dBackwardData(dy.dut(), w.dut(), dx.dut(), spec));
            compare(c, "dx", dx, GEMM);
            c.both(be -> be.conv2dBackwardFilter(x.ref(), dy.ref(), dw.ref(), spec), be -> be.conv2dBackwardFilter(x.dut(), dy.dut(), dw.dut(), spec));
            c.compare("dw", dw, GEMM);
        }));
    }

    /**
     * A ResNet basic block with a max pool in front, through the ops and autograd: NCHW on the
     * reference, a channels-last input on the backend under test. Every activation there must come
     * out channels-last, every gradient too (it has the layout of its tensor), the weights' gradients
     * OIHW. Tolerance: GEMM (1e-4 relative) for every output. The chain is two convolutions (each
     * within GEMM of the reference, in practice ~K·u ≈ 45·6e-8 ≈ 3e-6 relative), batch norms that
     * rescale by 1/std (relative errors pass through unchanged) and exact ReLU/max/add, so the chain's
     * error stays a small multiple of one convolution's, well inside 1e-4.
     */
    private static void residualBlock(Ctx c) {
        int[] xs = {3, 5, 13, 11};
        Pair x0 = c.randn(xs), w1 = c.randn(5, 5, 3, 3), w2 = c.randn(5, 5, 3, 3);
        Pair g1 = c.uniform(0.5f, 1.5f, 5), b1 = c.randn(5), g2 = c.uniform(0.5f, 1.5f, 5), b2 = c.randn(5);
        Tensor[] ref = block(false, x0.ref(), w1.ref(), w2.ref(), g1.ref(), b1.ref(), g2.ref(), b2.ref());
        Tensor[] dut = block(true, x0.dut(), w1.dut(), w2.dut(), g1.dut(), b1.dut(), g2.dut(), b2.dut());
        String[] names = {"max pool", "conv1", "bn1+relu", "conv2", "bn2", "add+relu", "avg pool", "dx", "dw1", "dw2", "dgamma1", "dbeta2"};
        for (int i = 0; i < names.length; i++) {
            c.compare(names[i], new Pair(ref[i], dut[i]), GEMM);
            boolean activation = i <= 5 || i == 7;
            if (activation && !dut[i].isChannelsLast())
                throw new AssertionError(names[i] + " of a channels-last input is not channels-last: " + dut[i].describe());
            if (!activation && !dut[i].isContiguous())
                throw new AssertionError(names[i] + " should be contiguous: " + dut[i].describe());
        }
    }

    /** The block on x0's values, given to it channels-last or as they are (NCHW). */
    private static Tensor[] block(boolean channelsLast, Tensor x0, Tensor w1, Tensor w2, Tensor g1, Tensor b1, Tensor g2, Tensor b2) {
        Tensor x = (channelsLast ? x0.inFormat(CL) : x0).requiresGrad(true);
        for (Tensor p : new Tensor[]{w1, w2, g1, b1, g2, b2}) p.requiresGrad(true);
        try (var ignored = GradMode.enableGrad()) {
            Tensor p = Pool.maxPool2d(x, 3, 1, 1);
            Tensor y1 = Conv.conv2d(p, w1, 1, 1, 1);
            Tensor a1 = Elementwise.relu(Norm.batchNormTrain(y1, g1, b1, null, null, 0.1f, 1e-5f));
            Tensor y2 = Conv.conv2d(a1, w2, 1, 1, 1);
            Tensor n2 = Norm.batchNormTrain(y2, g2, b2, null, null, 0.1f, 1e-5f);
            Tensor out = Elementwise.relu(Elementwise.add(n2, p));
            Tensor pooled = Pool.globalAvgPool(out);
            Tensor loss = Reductions.sum(Elementwise.mul(pooled, pooled));
            loss.backward();
            return new Tensor[]{p, y1, a1, y2, n2, out, pooled, x.grad(), w1.grad(), w2.grad(), g1.grad(), b2.grad()};
        }
    }
}
