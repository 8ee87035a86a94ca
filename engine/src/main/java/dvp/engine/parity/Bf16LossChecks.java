package dvp.engine.parity;

import dvp.engine.Bf16;
import dvp.engine.DType;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.parity.ParityChecks.Check;
import dvp.engine.parity.ParityChecks.Ctx;
import dvp.engine.parity.ParityChecks.Pair;

import java.util.List;

/**
 * The bf16 checks of the two losses (issue 18, mixed precision): margin-InfoNCE on bf16 q, k⁺ and
 * queue (both GEMMs bf16 × bf16 with fp32 accumulation), and OFD on bf16 features, against the
 * CPU's fp32 computation on the <b>bf16-rounded</b> inputs (the values the device reads; rounded by
 * the reference rounding {@link Bf16#round}, which the cast checks tie to the device's cast bit for
 * bit). A backend without bf16 compute (the CPU against itself) gets the same rounded values in F32
 * and runs the fp32 path, so the harness check stays exact.
 */
final class Bf16LossChecks {
    private Bf16LossChecks() {}

    static final float MARGIN = 0.4f, TAU = 0.2f;

    static void addTo(List<Check> l) {
        infoNce(l, 7, 33, 131, false);
        infoNce(l, 13, 67, 1031, true);
        // OFD: rows whose length is not a multiple of 8 (the 16-byte vectors' phase moves from row to
        // row), channels-last with fewer channels than a vector and with several vectors and a tail,
        // an NCHW row over two column chunks (8·256·4 = 8192 bf16 elements per chunk), views at an odd
        // offset in the same phase (a scalar head) and in different phases (all scalar).
        ofd(l, "NCHW", new int[]{3, 5, 7, 9}, 63, 0, 0);
        ofd(l, "NHWC", new int[]{3, 7, 9, 5}, 1, 0, 0);
        ofd(l, "NHWC C=67", new int[]{2, 3, 5, 67}, 1, 0, 0);
        ofd(l, "NCHW two column chunks", new int[]{1, 2, 97, 97}, 97 * 97, 0, 0);
        ofd(l, "NCHW s, t at offset 3", new int[]{3, 3, 7, 9}, 63, 3, 3);
        ofd(l, "NCHW s at offset 1", new int[]{3, 3, 7, 9}, 63, 1, 0);
        ofd(l, "NHWC t at offset 1", new int[]{2, 3, 5, 12}, 1, 0, 1);
    }

    /**
     * margin-InfoNCE with bf16 operands. Every logit (the positive one included) is an fp32 sum of
     * exact products (bf16 × bf16 needs 16 of fp32's 24 significand bits) of the same values the
     * reference multiplies, so loss and accuracy differ from the reference only by summation order:
     * {@link ParityChecks#INFONCE}, as in fp32. dq: the logit gradient G_ij = p_ij/(Nτ) is rounded
     * to bf16 before the dq GEMM, each by at most u·G_ij (u = 2^-8, {@link Bf16#UNIT_ROUNDOFF}), so
     * dq_ic = Σ_j G_ij·queue_jc moves by at most u·Σ_j G_ij·|queue_jc| ≤ u/(Nτ)·max|queue| (Σ_j p_ij
     * ≤ 1). Relative to max|dq| (ParityResult's scale) that is u·max|queue|/(Nτ·max|dq|), computed
     * from the reference's values, plus INFONCE for the fp32 part.
     */
    private static void infoNce(List<Check> l, int n, int d, int k, boolean related) {
        l.add(new Check("marginInfoNce bf16" + (related ? " (positives near q)" : ""), "N=" + n + " d=" + d + " K=" + k, c -> {
            float[] qv = ParityChecks.unitRows(c.gaussian(new int[]{n, d}, 1f), d);
            float[] kv = c.gaussian(new int[]{n, d}, 1f);
            if (related) for (int x = 0; x < kv.length; x++) kv[x] = qv[x] + 0.08f * kv[x];
            Pair q = rounded(c, qv, n, d), kp = rounded(c, ParityChecks.unitRows(kv, d), n, d);
            Pair queue = rounded(c, ParityChecks.unitRows(c.gaussian(new int[]{k, d}, 1f), d), k, d);
            Pair loss = c.out(1), acc = c.out(1), dq = c.out(n, d), loss2 = c.out(1), acc2 = c.out(1);
            c.ref.marginInfoNceForward(q.ref(), kp.ref(), queue.ref(), MARGIN, TAU, loss.ref(), acc.ref(), dq.ref());
            c.dut.marginInfoNceForward(q.dut(), kp.dut(), queue.dut(), MARGIN, TAU, loss.dut(), acc.dut(), dq.dut());
            float refAcc = acc.ref().toFloatArray()[0];
            if (related ? !(refAcc > 0f && refAcc < 1f) : refAcc != 0f)
                throw new AssertionError("the check's inputs no longer give the intended accuracy: " + refAcc);
            double dqTol = ParityChecks.INFONCE + Bf16.UNIT_ROUNDOFF * maxAbs(queue.ref()) / (n * (double) TAU * maxAbs(dq.ref()));
            c.compare("loss", loss, ParityChecks.INFONCE);
            c.compare("accuracy", acc, 0);
            c.compare("dq", dq, dqTol);
            c.ref.marginInfoNceForward(q.ref(), kp.ref(), queue.ref(), MARGIN, TAU, loss2.ref(), acc2.ref(), null);
            c.dut.marginInfoNceForward(q.dut(), kp.dut(), queue.dut(), MARGIN, TAU, loss2.dut(), acc2.dut(), null);
            c.compare("loss(no dq)", loss2, ParityChecks.INFONCE);
            c.compare("accuracy(no dq)", acc2, 0);
        }));
    }

    /**
     * OFD on bf16 s and t. Per element the device does the reference's fp32 operations on the same
     * (exactly widened) values, so the loss terms are the same floats and the loss differs only by
     * summation order ({@link ParityChecks#REDUCE}, as in fp32), and ds is the reference's fp32 value
     * rounded once to bf16: within u = 2^-8 of it relative to max|ds| (the tolerance), and checked
     * bit for bit against the reference's ds rounded by the reference rounding.
     */
    private static void ofd(List<Check> l, String name, int[] shape, int stride, int sOffset, int tOffset) {
        int channels = stride == 1 ? shape[3] : shape[1];
        l.add(new Check("ofdLoss bf16 " + name, Shape.str(shape) + " stride " + stride, c -> {
            Pair s = roundedView(c, shape, sOffset), t = roundedView(c, shape, tOffset);
            Pair m = c.uniform(-1f, -0.05f, channels), g = c.uniform(0.5f, 2f, 1);
            Pair loss = c.out(1);
            boolean bf16 = c.dut.supportsBf16Compute();
            Pair ds = c.out(shape);
            if (bf16) { // the device's ds is BF16, poisoned with NaN
                ds = new Pair(ds.ref(), Tensor.empty(c.dut, DType.BF16, shape));
                c.dut.fill(ds.dut(), Double.NaN);
            }
            c.ref.ofdLossForward(s.ref(), t.ref(), m.ref(), 1e-4f, stride, loss.ref());
            c.dut.ofdLossForward(s.dut(), t.dut(), m.dut(), 1e-4f, stride, loss.dut());
            c.compare("loss", loss, ParityChecks.REDUCE);
            c.ref.ofdLossBackward(s.ref(), t.ref(), m.ref(), 1e-4f, stride, g.ref(), ds.ref());
            c.dut.ofdLossBackward(s.dut(), t.dut(), m.dut(), 1e-4f, stride, g.dut(), ds.dut());
            c.compare("ds", ds, bf16 ? Bf16.UNIT_ROUNDOFF : ParityChecks.BITWISE);
            if (bf16) {
                Tensor refRounded = Tensor.empty(c.ref, DType.BF16, shape);
                c.ref.cast(ds.ref(), refRounded);
                c.compareBits("ds vs rounded ref", new Pair(refRounded, ds.dut()));
            }
        }));
    }

    /** v rounded to bf16: F32 on the reference; BF16 (the device's cast of v) on a backend with bf16 compute. */
    static Pair rounded(Ctx c, float[] v, int... shape) {
        float[] r = new float[v.length];
        for (int i = 0; i < v.length; i++) r[i] = Bf16.round(v[i]);
        Tensor rf = Tensor.of(c.ref, r, shape);
        if (!c.dut.supportsBf16Compute()) return new Pair(rf, Tensor.of(c.dut, r, shape));
        Tensor db = Tensor.empty(c.dut, DType.BF16, shape);
        c.dut.cast(Tensor.of(c.dut, v, shape), db);
        return new Pair(rf, db);
    }

    /** Standard-normal values rounded to bf16 (see {@link #rounded}); with an offset, a view that starts that many elements into its storage. */
    private static Pair roundedView(Ctx c, int[] shape, int offset) {
        int n = (int) Shape.numel(shape);
        Pair flat = rounded(c, c.gaussian(new int[]{n + offset}, 1f), n + offset);
        return new Pair(flat.ref().narrow0(offset, n).view(shape), flat.dut().narrow0(offset, n).view(shape));
    }

    private static double maxAbs(Tensor t) {
        double m = 0;
        for (float v : t.toFloatArray()) m = Math.max(m, Math.abs(v));
        return m;
    }
}
