package dvp.engine.parity;

import dvp.engine.Bf16;
import dvp.engine.DType;
import dvp.engine.MemoryFormat;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.parity.ParityChecks.Check;
import dvp.engine.parity.ParityChecks.Ctx;
import dvp.engine.parity.ParityChecks.Pair;
import dvp.engine.spi.PoolSpec;

import java.util.List;

import static dvp.engine.parity.ParityChecks.NORM;
import static dvp.engine.parity.ParityChecks.REDUCE;

/**
 * bf16 activation storage (issue 18, autocast as PyTorch's): the primitives that run on bf16
 * activations under autocast — ReLU, axpby (residual adds, gradient accumulation), scaleShift,
 * channelAffine (eval-mode batch norm), training batch norm, max and global-average pooling, and
 * the bf16 layout conversion — on BF16 tensors (fp32 arithmetic, one rounding at the store), against
 * the CPU's fp32 primitive on the same bf16-rounded inputs (widened exactly). Shapes are odd; the 4-D
 * ops run NCHW and channels-last.
 *
 * <p>Two kinds of comparison:
 * <ul>
 *   <li><b>Bitwise</b> where the device's fp32 value is the reference's bit for bit (the F32 checks
 *       are BITWISE: same operations, same order) — the device must then store exactly the
 *       reference's value rounded once to bf16 (round to nearest even, the reference's
 *       {@link Bf16#fromFloat}), so the reference's output is rounded by the reference cast and the
 *       bits compared. ReLU and max pooling do no arithmetic (the bf16 value itself comes back).</li>
 *   <li><b>{@link #oneRounding}(tol)</b> where the fp32 check has a tolerance tol (sums in another
 *       order): the op's fp32 error plus one bf16 rounding of the output.</li>
 * </ul>
 * A backend without bf16 compute (the CPU against itself) runs the same fp32 path on F32 copies of
 * the rounded inputs, so the harness check is exact there too.
 */
final class Bf16ActivationChecks {
    private Bf16ActivationChecks() {}

    /**
     * The tolerance of a bf16-stored result whose fp32 value the op's fp32 check bounds by tol
     * (relative to max|ref|): the device's fp32 value v is within tol·max|ref| of the reference, and
     * the store moves it by at most u·|v| ≤ u·(1 + tol)·max|ref|, u = 2^-8 the unit roundoff of bf16
     * (Bf16.UNIT_ROUNDOFF). Together tol + u·(1 + tol), relative to max|ref|.
     */
    static double oneRounding(double tol) { return tol + Bf16.UNIT_ROUNDOFF * (1 + tol); }

    private static final MemoryFormat CL = MemoryFormat.CHANNELS_LAST;

    /** A random input rounded to bf16 (Bf16Checks.rounded), in {@code format} on the backend under test. */
    private static Pair in(Ctx c, MemoryFormat format, int... shape) {
        Pair p = Bf16Checks.rounded(c, shape);
        return format == CL ? new Pair(p.ref(), p.dut().inFormat(CL)) : p;
    }

    /** An output: F32 NCHW on the reference; BF16 (F32 without bf16 compute) in {@code format} on the backend under test, poisoned. */
    private static Pair out(Ctx c, MemoryFormat format, int... shape) {
        DType d = c.dut.supportsBf16Compute() ? DType.BF16 : DType.F32;
        Tensor r = Tensor.empty(c.ref, DType.F32, shape);
        Tensor t = format == CL ? Tensor.empty(c.dut, d, CL, shape) : Tensor.empty(c.dut, d, shape);
        c.ref.fill(r, Double.NaN);
        c.dut.fill(t, Double.NaN);
        return new Pair(r, t);
    }

    /** F32 NCHW on the reference, F32 on the backend under test (statistics, argmax), poisoned. */
    private static Pair f32Out(Ctx c, DType dtype, MemoryFormat format, int... shape) {
        Tensor r = Tensor.empty(c.ref, dtype, shape);
        Tensor t = format == CL ? Tensor.empty(c.dut, dtype, CL, shape) : Tensor.empty(c.dut, dtype, shape);
        double poison = dtype.isFloating() ? Double.NaN : -1;
        c.ref.fill(r, poison);
        c.dut.fill(t, poison);
        return new Pair(r, t);
    }

    /** x as a contiguous BF16 tensor on its backend (the reference cast: round to nearest even; exact for a BF16 x). */
    private static Tensor asBf16(Tensor x) {
        Tensor cx = x.isContiguous() ? x : x.copyContiguous();
        if (cx.dtype() == DType.BF16) return cx;
        Tensor b = Tensor.empty(cx.backend(), DType.BF16, cx.shape());
        cx.backend().cast(cx, b);
        return b;
    }

    /** The backend's bf16 output against the reference's fp32 output rounded once to bf16, bit for bit; layout asserted. */
    private static void bits(Ctx c, String output, Pair p, MemoryFormat format) {
        if (format == CL && !p.dut().isChannelsLast())
            throw new AssertionError("channels-last output " + output + " lost its layout: " + p.dut().describe());
        c.compareBits(output + " (= bf16(ref))", new Pair(asBf16(p.ref()), asBf16(p.dut())));
    }

    private static void close(Ctx c, String output, Pair p, MemoryFormat format, double tol) {
        if (format == CL && !p.dut().isChannelsLast())
            throw new AssertionError("channels-last output " + output + " lost its layout: " + p.dut().describe());
        c.compare(output, p, tol);
    }

    /** "bf16 op" or "bf16 channels-last: op" (CudaBatchNormPathsTest runs every check whose name ends with "batchNormTrain" on both paths). */
    private static String name(String op, MemoryFormat f) { return "bf16 " + (f == CL ? "channels-last: " : "") + op; }

    static void addTo(List<Check> l) {
        int[] s = {3, 5, 7, 9};
        l.add(new Check("bf16 relu / reluBackward / axpby / scaleShift", Shape.str(s), c -> {
            Pair x = in(c, MemoryFormat.CONTIGUOUS, s), b = in(c, MemoryFormat.CONTIGUOUS, s), dy = in(c, MemoryFormat.CONTIGUOUS, s);
            Pair y = out(c, MemoryFormat.CONTIGUOUS, s), dx = out(c, MemoryFormat.CONTIGUOUS, s);
            Pair sum = out(c, MemoryFormat.CONTIGUOUS, s), ss = out(c, MemoryFormat.CONTIGUOUS, s);
            c.both(be -> be.relu(x.ref(), y.ref()), be -> be.relu(x.dut(), y.dut()));
            bits(c, "relu", y, MemoryFormat.CONTIGUOUS);
            c.both(be -> be.reluBackward(y.ref(), dy.ref(), dx.ref()), be -> be.reluBackward(y.dut(), dy.dut(), dx.dut()));
            bits(c, "relu dx", dx, MemoryFormat.CONTIGUOUS);
            // the residual add's and the gradient accumulation's sum: fp32, rounded once
            c.both(be -> be.axpby(0.7f, x.ref(), -1.3f, b.ref(), sum.ref()), be -> be.axpby(0.7f, x.dut(), -1.3f, b.dut(), sum.dut()));
            bits(c, "axpby", sum, MemoryFormat.CONTIGUOUS);
            // in place, as autograd accumulates a gradient used twice (acc = acc + g; acc is a bf16 value on both sides)
            Pair acc = in(c, MemoryFormat.CONTIGUOUS, s);
            c.both(be -> be.axpby(1f, acc.ref(), 1f, b.ref(), acc.ref()), be -> be.axpby(1f, acc.dut(), 1f, b.dut(), acc.dut()));
            bits(c, "axpby in place (acc += g)", acc, MemoryFormat.CONTIGUOUS);
            c.both(be -> be.scaleShift(x.ref(), 1.7f, -0.3f, ss.ref()), be -> be.scaleShift(x.dut(), 1.7f, -0.3f, ss.dut()));
            bits(c, "scaleShift", ss, MemoryFormat.CONTIGUOUS);
        }));
        for (MemoryFormat f : new MemoryFormat[]{MemoryFormat.CONTIGUOUS, CL}) {
            l.add(new Check(name("cast F32->BF16->F32", f), "[3,5,7,9]", c -> {
                // autocast casts activations in their layout: memory slot to memory slot, strides kept
                Pair x = c.randn(3, 5, 7, 9);
                Pair xf = f == CL ? new Pair(x.ref().inFormat(CL), x.dut().inFormat(CL)) : x;
                Pair b = new Pair(Tensor.empty(c.ref, DType.BF16, f, 3, 5, 7, 9), Tensor.empty(c.dut, DType.BF16, f, 3, 5, 7, 9));
                Pair back = new Pair(Tensor.empty(c.ref, DType.F32, f, 3, 5, 7, 9), Tensor.empty(c.dut, DType.F32, f, 3, 5, 7, 9));
                c.both(be -> be.cast(xf.ref(), b.ref()), be -> be.cast(xf.dut(), b.dut()));
                c.compareBits("to BF16", b);
                c.both(be -> be.cast(b.ref(), back.ref()), be -> be.cast(b.dut(), back.dut()));
                c.compareBits("back to F32", back);
                if (b.dut().memoryFormat() != f || back.dut().memoryFormat() != f)
                    throw new AssertionError("cast lost the layout: " + b.dut().describe() + ", " + back.dut().describe());
            }));
            l.add(new Check(name("layout conversion", f), "[3,5,7,9]", c -> {
                Pair x = in(c, MemoryFormat.CONTIGUOUS, 3, 5, 7, 9);
                Tensor there = x.dut().contiguous(f == CL ? CL : MemoryFormat.CONTIGUOUS);
                Tensor cl = x.dut().contiguous(CL), back = cl.contiguous(MemoryFormat.CONTIGUOUS);
                if (!cl.isChannelsLast() || !back.isContiguous() || back.dtype() != x.dut().dtype())
                    throw new AssertionError("bf16 layout conversion gave " + cl.describe() + " and " + back.describe());
                bits(c, "contiguous(" + f + ")", new Pair(x.ref(), there), f);
                bits(c, "channels-last and back", new Pair(x.ref(), back), MemoryFormat.CONTIGUOUS);
            }));
            int[] as = {3, 5, 11, 13};
            l.add(new Check(name("channelAffine", f), Shape.str(as), c -> {
                Pair x = in(c, f, as), sc = c.randn(5), sh = c.randn(5), y = out(c, f, as);
                c.both(be -> be.channelAffine(x.ref(), sc.ref(), sh.ref(), y.ref()), be -> be.channelAffine(x.dut(), sc.dut(), sh.dut(), y.dut()));
                bits(c, "affine", y, f);
            }));
            bn(l, f, new int[]{5, 7, 9, 11});
            if (f != CL) bn(l, f, new int[]{301, 3, 1, 1}); // 1x1 planes: channels-last strides would be NCHW's
            l.add(new Check(name("maxPool2d k3 s2 p1", f), "[3,5,17,15]", c -> {
                int[] xs = {3, 5, 17, 15};
                PoolSpec p = new PoolSpec(3, 2, 1);
                int ho = p.out(17), wo = p.out(15);
                Pair x = in(c, f, xs), dy = in(c, f, 3, 5, ho, wo);
                Pair y = out(c, f, 3, 5, ho, wo), am = f32Out(c, DType.I32, f, 3, 5, ho, wo), dx = out(c, f, xs);
                c.both(be -> be.maxPool2dForward(x.ref(), y.ref(), am.ref(), p), be -> be.maxPool2dForward(x.dut(), y.dut(), am.dut(), p));
                bits(c, "y", y, f); // a copy of the input's value: exact
                c.compare("argmax", am, 0);
                // each dx is the fp32 sum of its chosen dy, in output order on both sides, rounded once
                c.both(be -> be.maxPool2dBackward(dy.ref(), am.ref(), dx.ref()), be -> be.maxPool2dBackward(dy.dut(), am.dut(), dx.dut()));
                bits(c, "dx", dx, f);
            }));
            l.add(new Check(name("globalAvgPool", f), "[3,7,9,11]", c -> {
                Pair x = in(c, f, 3, 7, 9, 11), dy = in(c, MemoryFormat.CONTIGUOUS, 3, 7);
                Pair y = out(c, MemoryFormat.CONTIGUOUS, 3, 7), dx = out(c, f, 3, 7, 9, 11);
                c.both(be -> be.globalAvgPoolForward(x.ref(), y.ref()), be -> be.globalAvgPoolForward(x.dut(), y.dut()));
                close(c, "y", y, MemoryFormat.CONTIGUOUS, oneRounding(REDUCE)); // the fp32 check's REDUCE, + the store
                c.both(be -> be.globalAvgPoolBackward(dy.ref(), dx.ref()), be -> be.globalAvgPoolBackward(dy.dut(), dx.dut()));
                bits(c, "dx", dx, f); // dy / hw in float on both sides, rounded once
            }));
        }
    }

    /**
     * Training batch norm on bf16 x/y/dy/dx with fp32 gamma, beta and statistics. The statistics
     * (mean, invstd, running buffers, dgamma, dbeta) are fp32 results of the same bf16 input values
     * as the reference's: the fp32 check's NORM. y and dx are those fp32 computations rounded once:
     * {@link #oneRounding}(NORM).
     */
    private static void bn(List<Check> l, MemoryFormat f, int[] xs) {
        l.add(new Check(name("batchNormTrain", f), Shape.str(xs), c -> {
            int ch = xs[1];
            Pair x = in(c, f, xs), dy = in(c, f, xs), gamma = c.uniform(0.5f, 1.5f, ch), beta = c.randn(ch);
            Pair rm = c.randn(ch), rv = c.uniform(0.5f, 2f, ch);
            Pair y = out(c, f, xs), dx = out(c, f, xs);
            Pair mean = c.out(ch), inv = c.out(ch), dg = c.out(ch), db = c.out(ch);
            c.both(be -> be.batchNormTrainForward(x.ref(), gamma.ref(), beta.ref(), rm.ref(), rv.ref(), 0.1f, 1e-5f, y.ref(), mean.ref(), inv.ref()),
                    be -> be.batchNormTrainForward(x.dut(), gamma.dut(), beta.dut(), rm.dut(), rv.dut(), 0.1f, 1e-5f, y.dut(), mean.dut(), inv.dut()));
            close(c, "y", y, f, oneRounding(NORM));
            c.compare("mean", mean, NORM);
            c.compare("invstd", inv, NORM);
            c.compare("run_mean", rm, NORM);
            c.compare("run_var", rv, NORM);
            c.both(be -> be.batchNormTrainBackward(x.ref(), dy.ref(), gamma.ref(), mean.ref(), inv.ref(), dx.ref(), dg.ref(), db.ref()),
                    be -> be.batchNormTrainBackward(x.dut(), dy.dut(), gamma.dut(), mean.dut(), inv.dut(), dx.dut(), dg.dut(), db.dut()));
            close(c, "dx", dx, f, oneRounding(NORM));
            c.compare("dgamma", dg, NORM);
            c.compare("dbeta", db, NORM);
        }));
    }
}
