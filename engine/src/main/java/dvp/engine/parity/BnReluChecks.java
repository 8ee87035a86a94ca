package dvp.engine.parity;

import dvp.engine.Bf16;
import dvp.engine.DType;
import dvp.engine.MemoryFormat;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.parity.ParityChecks.Check;
import dvp.engine.parity.ParityChecks.Ctx;
import dvp.engine.parity.ParityChecks.Pair;
import dvp.engine.spi.Backend;

import java.util.List;

import static dvp.engine.parity.ParityChecks.BITWISE;
import static dvp.engine.parity.ParityChecks.BN_RELU;

/**
 * The fused batch norm + residual add + ReLU ({@code Backend.batchNormReluTrainForward/Backward})
 * in both layouts and both element types, against the CPU's fp32 NCHW composition of the unfused
 * ops: the reference always gets plain NCHW F32 tensors; the backend under test gets the same
 * values channels-last (NHWC memory: bn_relu.cu's dvp_bnr_nhwc_* kernels) and/or as BF16 (the
 * *_bf16 kernels), outputs poisoned, compared logically; outputs must keep their layout. (The
 * NCHW F32 checks at other shapes and offsets are ParityChecks.bnRelu.)
 *
 * <p>BF16: the inputs (x, residual, dy, the mask y) are rounded to bf16 first by the reference
 * cast (which the cast checks tie to the device's bit for bit), so both sides compute on exactly
 * the same values; the reference computes on them in fp32 NCHW, the backend under test reads the
 * BF16 tensors. A backend without bf16 compute (the CPU against itself) gets the rounded values as
 * F32: the same path as the reference, exact.
 *
 * <p>Shapes: C = 5 (the NHWC scalar path: one channel per thread) and C = 12 (C % 4 == 0: the
 * vector path, four channels per thread), H·W = 63 odd, N = 3; [9, 5, 23, 29] and [3, 12, 37, 41]
 * span several pixel slices of the NHWC geometry (the last one partial) with a mean far from 0;
 * a channels-last view at an odd element offset runs C = 12 scalar (not quad-aligned).
 */
final class BnReluChecks {
    private BnReluChecks() {}

    private static final MemoryFormat CL = MemoryFormat.CHANNELS_LAST, NCHW = MemoryFormat.CONTIGUOUS;

    /**
     * bf16 outputs of the fused op (y, dx; relative to the largest reference value). The device
     * computes each element in fp32 from the same bf16 values the reference reads as floats, so
     * before its final store it is within {@link ParityChecks#BN_RELU} = 1e-5 of the reference, for
     * the reasons stated there (only the per-channel sums' order differs). The store rounds once to
     * bf16 (round to nearest), which moves a value v by at most u·|v|, u = 2^-8 = the unit roundoff
     * of bf16's 8-bit significand ({@link Bf16#UNIT_ROUNDOFF}), and |v| ≤ (1 + BN_RELU)·max|ref|.
     * Together: u·(1 + BN_RELU) + BN_RELU = 3.92e-3. The statistics, dgamma and dbeta stay fp32
     * (BN_RELU); dresidual is the masked dy, a bf16 value stored exactly (bitwise).
     */
    static final double BF16_BN_RELU = Bf16.UNIT_ROUNDOFF * (1 + BN_RELU) + BN_RELU;

    static void addTo(List<Check> l) {
        for (int ch : new int[]{5, 12}) {
            int[] xs = {3, ch, 7, 9};
            for (MemoryFormat f : new MemoryFormat[]{NCHW, CL}) {
                for (boolean bf16 : new boolean[]{false, true}) {
                    if (f == NCHW && !bf16 && ch == 5) continue; // NCHW F32 at C = 5: ParityChecks.bnRelu's shapes
                    check(l, xs, f, bf16, true, true, 0f, 0);
                    check(l, xs, f, bf16, false, true, 0f, 0);
                    check(l, xs, f, bf16, true, false, 0f, 0);
                    check(l, xs, f, bf16, false, false, 0f, 0);
                }
            }
        }
        for (boolean bf16 : new boolean[]{false, true}) {
            check(l, new int[]{9, 5, 23, 29}, CL, bf16, true, true, 3f, 0);
            check(l, new int[]{3, 12, 37, 41}, CL, bf16, true, true, 3f, 0);
            check(l, new int[]{3, 12, 7, 9}, CL, bf16, true, true, 0f, 1);
            check(l, new int[]{3, 12, 7, 9}, NCHW, bf16, true, true, 0f, 1);
        }
    }

    /**
     * One forward + backward check: x of shape xs (standard normal + shift), in layout f and (when
     * bf16) BF16 on the backend under test, at element offset {@code offset} of a larger buffer when
     * not 0 (x, residual, dy). The backward gets its own y (ReLU of fresh data) and statistics, as in
     * ParityChecks.bnRelu, so it is compared independently of the forward.
     */
    private static void check(List<Check> l, int[] xs, MemoryFormat f, boolean bf16, boolean residual, boolean relu,
                              float shift, int offset) {
        String shape = Shape.str(xs) + (f == CL ? " channels-last" : " nchw") + (bf16 ? " bf16" : "")
                + (residual ? " + residual" : "") + (relu ? " relu" : " (no relu)") + (shift != 0 ? " mean " + shift : "")
                + (offset != 0 ? " at offset " + offset : "");
        l.add(new Check("batchNormReluTrain", shape, c -> {
            int ch = xs[1];
            double tol = bf16 ? BF16_BN_RELU : BN_RELU;
            Pair x0 = c.randn(xs);
            if (shift != 0) c.both(b -> b.scaleShift(x0.ref(), 1f, shift, x0.ref()), b -> b.scaleShift(x0.dut(), 1f, shift, x0.dut()));
            Pair x = input(c, x0, xs, f, bf16, offset), gamma = c.uniform(0.5f, 1.5f, ch), beta = c.randn(ch);
            Pair r = residual ? input(c, c.randn(xs), xs, f, bf16, offset == 0 ? 0 : offset + 1) : new Pair(null, null);
            Pair rm = c.randn(ch), rv = c.uniform(0.5f, 2f, ch);
            Pair y = output(c, xs, f, bf16), mean = c.out(ch), inv = c.out(ch);
            c.ref.batchNormReluTrainForward(x.ref(), r.ref(), gamma.ref(), beta.ref(), rm.ref(), rv.ref(), 0.1f, 1e-5f, relu,
                    y.ref(), mean.ref(), inv.ref());
            c.dut.batchNormReluTrainForward(x.dut(), r.dut(), gamma.dut(), beta.dut(), rm.dut(), rv.dut(), 0.1f, 1e-5f, relu,
                    y.dut(), mean.dut(), inv.dut());
            compare(c, "y", y, f, tol);
            c.compare("mean", mean, BN_RELU);
            c.compare("invstd", inv, BN_RELU);
            c.compare("run_mean", rm, BN_RELU);
            c.compare("run_var", rv, BN_RELU);
            Pair yr = c.randn(xs), m = c.randn(ch), iv = c.uniform(0.5f, 2f, ch);
            c.both(b -> b.relu(yr.ref(), yr.ref()), b -> b.relu(yr.dut(), yr.dut()));
            Pair yb = input(c, yr, xs, f, bf16, 0), dy = input(c, c.randn(xs), xs, f, bf16, offset);
            Pair dx = output(c, xs, f, bf16), dg = c.out(ch), db = c.out(ch), dr = residual ? output(c, xs, f, bf16) : new Pair(null, null);
            c.ref.batchNormReluTrainBackward(x.ref(), relu ? yb.ref() : null, dy.ref(), gamma.ref(), m.ref(), iv.ref(), relu,
                    dx.ref(), dr.ref(), dg.ref(), db.ref());
            c.dut.batchNormReluTrainBackward(x.dut(), relu ? yb.dut() : null, dy.dut(), gamma.dut(), m.dut(), iv.dut(), relu,
                    dx.dut(), dr.dut(), dg.dut(), db.dut());
            compare(c, "dx", dx, f, tol);
            if (residual) compare(c, "dresidual", dr, f, BITWISE);
            c.compare("dgamma", dg, BN_RELU);
            c.compare("dbeta", db, BN_RELU);
        }));
    }

    /** Whether the backend under test gets BF16 tensors (bf16 asked and computed there); else F32. */
    private static DType dutType(Ctx c, boolean bf16) { return bf16 && c.dut.supportsBf16Compute() ? DType.BF16 : DType.F32; }

    /**
     * The values of p (F32, NCHW on both backends), rounded to bf16 when {@code bf16}: on the
     * reference as F32 NCHW; on the backend under test in layout f and its dtype, at element offset
     * {@code offset} of a larger buffer when not 0 (channels-last: the [N, H, W, C] view of it, so
     * the strides stay exactly channels-last).
     */
    private static Pair input(Ctx c, Pair p, int[] xs, MemoryFormat f, boolean bf16, int offset) {
        Tensor ref = p.ref(), dut = p.dut();
        if (bf16) {
            ref = roundTrip(c.ref, ref, DType.F32);
            dut = roundTrip(c.dut, dut, dutType(c, true));
        }
        if (f == NCHW && offset == 0) return new Pair(ref, dut);
        int n = (int) Shape.numel(xs);
        Tensor d;
        if (offset == 0) {
            d = Tensor.empty(c.dut, dut.dtype(), CL, xs);
        } else {
            Tensor flat = Tensor.empty(c.dut, dut.dtype(), n + offset).narrow0(offset, n);
            d = f == NCHW ? flat.view(xs) : flat.view(xs[0], xs[2], xs[3], xs[1]).permute(0, 3, 1, 2);
        }
        d.copyFrom(dut); // element [n, c, h, w] to [n, c, h, w], whatever the layout
        if (f == CL && !d.isChannelsLast()) throw new AssertionError("input view is not channels-last: " + d.describe());
        return new Pair(ref, d);
    }

    /** t rounded to bf16 (the backend's cast), as {@code as}: BF16 itself, or widened back to F32. */
    private static Tensor roundTrip(Backend be, Tensor t, DType as) {
        Tensor b = Tensor.empty(be, DType.BF16, t.shape());
        be.cast(t, b);
        if (as == DType.BF16) return b;
        Tensor w = Tensor.empty(be, DType.F32, t.shape());
        be.cast(b, w);
        return w;
    }

    /** An output: F32 NCHW on the reference, layout f and the dut's dtype on the backend under test, both poisoned. */
    private static Pair output(Ctx c, int[] xs, MemoryFormat f, boolean bf16) {
        DType dt = dutType(c, bf16);
        Tensor r = Tensor.empty(c.ref, DType.F32, xs), d = Tensor.empty(c.dut, dt, f, xs);
        c.ref.fill(r, Double.NaN);
        c.dut.fill(d, Double.NaN);
        return new Pair(r, d);
    }

    /** Compares, and asserts that the backend under test wrote in place (the output kept its layout). */
    private static void compare(Ctx c, String output, Pair p, MemoryFormat f, double tol) {
        c.compare(output, p, tol);
        if (!f.hasMemoryOrder(p.dut())) throw new AssertionError(output + " lost its layout " + f.label() + ": " + p.dut().describe());
    }
}
