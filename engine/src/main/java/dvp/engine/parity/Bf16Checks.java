package dvp.engine.parity;

import dvp.engine.Bf16;
import dvp.engine.DType;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.parity.ParityChecks.Check;
import dvp.engine.parity.ParityChecks.Ctx;
import dvp.engine.parity.ParityChecks.Pair;
import dvp.engine.spi.Backend;
import dvp.engine.spi.ConvSpec;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The bf16 checks of the parity suite (issue 18, mixed precision): the F32 ↔ BF16 casts bit for
 * bit, and bf16 GEMMs and convolutions (all three directions) against the CPU's fp32 arithmetic.
 *
 * <p>How a bf16 product is compared: the reference is the CPU's fp32 GEMM/convolution of the
 * <b>bf16-rounded</b> inputs (rounded by the reference cast, which the cast checks tie to the device's
 * bit for bit), i.e. exactly the values the device multiplies; a backend without bf16 compute (the
 * CPU against itself) runs that same fp32 path, so the harness check stays exact. The backend
 * under test runs the primitive on BF16 tensors and writes a BF16 output.
 */
final class Bf16Checks {
    private Bf16Checks() {}

    /**
     * bf16 GEMM/convolution tolerance, relative to the largest reference value (ParityResult). The
     * device's value is an fp32-accumulated sum of the same exact products (bf16 × bf16 is exact in
     * fp32), within {@link ParityChecks#GEMM} = 1e-4 of the reference (summation order, as for fp32),
     * then rounded once to bf16, which moves it by at most u·|v|, u = 2^-8 the unit roundoff of
     * bf16's 8-bit significand. Together: u·(1 + 1e-4) + 1e-4 = 4.0e-3. The input rounding is not
     * in it (both sides multiply the same rounded inputs); how far bf16 inputs move a whole
     * training step from fp32 is Bf16ResNetStepTest's tolerance.
     */
    static final double BF16_PRODUCT = Bf16.UNIT_ROUNDOFF * (1 + ParityChecks.GEMM) + ParityChecks.GEMM;

    /** bf16 bit patterns that exercise every rounding rule of cvt.rn.bf16.f32 and of the exact widening. */
    static final float[] SPECIAL = {
            0f, -0f, 1f, -1f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
            Float.intBitsToFloat(0x7FC0_0001), Float.intBitsToFloat(0xFF80_0001), Float.intBitsToFloat(0x7F80_8000), // NaN payloads
            Float.intBitsToFloat(0x3F80_8000), Float.intBitsToFloat(0x3F81_8000), // ties: to even (down), to even (up)
            Float.intBitsToFloat(0x3F80_8001), Float.intBitsToFloat(0x3F80_7FFF), // just above / below a tie
            Float.intBitsToFloat(0x7F7F_8000), Float.intBitsToFloat(0x7F7F_7FFF), // rounds to infinity / to bf16's largest
            Float.intBitsToFloat(0x0000_8000), Float.intBitsToFloat(0x0001_8000), Float.intBitsToFloat(0x807F_FFFF), // subnormal ties, largest
    };

    static void addTo(List<Check> l) {
        castChecks(l);
        for (boolean ta : new boolean[]{false, true}) {
            for (boolean tb : new boolean[]{false, true}) {
                int m = 37, k = 129, n = 53;
                String sh = m + "x" + k + " @ " + k + "x" + n + (ta ? " A^T" : "") + (tb ? " B^T" : "");
                l.add(new Check("matmul bf16", sh, c -> {
                    Pair a = rounded(c, ta ? new int[]{k, m} : new int[]{m, k}), b = rounded(c, tb ? new int[]{n, k} : new int[]{k, n});
                    Pair y = product(c, m, n);
                    c.ref.matmul(a.ref(), ta, b.ref(), tb, y.ref(), 1f, 0f);
                    c.dut.matmul(a.dut(), ta, b.dut(), tb, y.dut(), 1f, 0f);
                    c.compare("out", y, BF16_PRODUCT);
                }));
            }
        }
        l.add(new Check("matmul bf16 (alpha, beta)", "65x67 @ 67x33", c -> {
            Pair a = rounded(c, 65, 67), b = rounded(c, 67, 33), y = rounded(c, 65, 33);
            c.ref.matmul(a.ref(), false, b.ref(), false, y.ref(), 0.5f, -0.75f);
            c.dut.matmul(a.dut(), false, b.dut(), false, y.dut(), 0.5f, -0.75f);
            c.compare("out", y, BF16_PRODUCT);
        }));
        conv(l, "conv bf16 3x3 s1 p1", new int[]{3, 5, 13, 11}, new int[]{7, 5, 3, 3}, ConvSpec.of(1, 1, 1));
        conv(l, "conv bf16 3x3 s2 p1 g2", new int[]{2, 6, 15, 15}, new int[]{10, 3, 3, 3}, ConvSpec.of(2, 1, 2));
        conv(l, "conv bf16 1x1 s2", new int[]{3, 9, 9, 9}, new int[]{5, 9, 1, 1}, ConvSpec.of(2, 0, 1));
        conv(l, "conv bf16 7x7 s2 p3", new int[]{2, 3, 23, 23}, new int[]{8, 3, 7, 7}, ConvSpec.of(2, 3, 1));
    }

    private static void castChecks(List<Check> l) {
        for (int offset : new int[]{0, 1}) {
            String where = offset == 0 ? "" : " (offset 1: scalar path)";
            int n = 4099 + SPECIAL.length;
            l.add(new Check("cast F32->BF16", "[" + n + "]" + where, c -> {
                float[] v = new float[n];
                float[] g = c.gaussian(new int[]{4099}, 3f);
                System.arraycopy(g, 0, v, 0, g.length);
                System.arraycopy(SPECIAL, 0, v, g.length, SPECIAL.length);
                Pair x = view(c.of(withLead(v, offset), n + offset), offset, n);
                Pair y = bf16Out(c, n + offset, offset, n);
                c.ref.cast(x.ref(), y.ref());
                c.dut.cast(x.dut(), y.dut());
                c.compareBits("y", y);
                // and the reference cast is Bf16.fromFloat, element by element
                short[] expect = new short[n];
                for (int i = 0; i < n; i++) expect[i] = Bf16.fromFloat(v[i]);
                c.compareBits("y vs Bf16.fromFloat", new Pair(bf16(c.ref, expect), y.dut()));
            }));
            l.add(new Check("cast BF16->F32", "[65536] every pattern" + where, c -> {
                short[] all = new short[65536];
                for (int i = 0; i < all.length; i++) all[i] = (short) i;
                short[] lead = new short[all.length + offset];
                System.arraycopy(all, 0, lead, offset, all.length);
                Pair x = new Pair(bf16(c.ref, lead).narrow0(offset, all.length), bf16(c.dut, lead).narrow0(offset, all.length));
                Pair y = c.out(all.length + offset);
                y = new Pair(y.ref().narrow0(offset, all.length), y.dut().narrow0(offset, all.length));
                c.ref.cast(x.ref(), y.ref());
                c.dut.cast(x.dut(), y.dut());
                c.compareBits("y", y);
                float[] widened = new float[all.length];
                for (int i = 0; i < all.length; i++) widened[i] = Float.intBitsToFloat(i << 16);
                c.compareBits("y vs bits << 16", new Pair(Tensor.of(c.ref, widened, all.length), y.dut()));
            }));
        }
    }

    /** A random fp32 input already rounded to bf16 on both backends (reference cast), as F32 on the
     *  reference and BF16 on a backend under test that computes in bf16. */
    static Pair rounded(Ctx c, int... shape) {
        Pair x = c.randn(shape);
        Tensor rb = Tensor.empty(c.ref, DType.BF16, shape), rf = Tensor.empty(c.ref, DType.F32, shape);
        c.ref.cast(x.ref(), rb);
        c.ref.cast(rb, rf);
        Tensor db = Tensor.empty(c.dut, DType.BF16, shape);
        c.dut.cast(x.dut(), db);
        if (c.dut.supportsBf16Compute()) return new Pair(rf, db);
        Tensor df = Tensor.empty(c.dut, DType.F32, shape); // no bf16 compute: the same fp32 path as the reference
        c.dut.cast(db, df);
        return new Pair(rf, df);
    }

    /** An output: F32 on the reference, the product dtype (BF16 or F32) on the backend under test, poisoned. */
    private static Pair product(Ctx c, int... shape) {
        if (!c.dut.supportsBf16Compute()) return c.out(shape);
        Tensor r = Tensor.empty(c.ref, DType.F32, shape), d = Tensor.empty(c.dut, DType.BF16, shape);
        c.ref.fill(r, Double.NaN);
        c.dut.fill(d, Double.NaN);
        return new Pair(r, d);
    }

    private static void conv(List<Check> l, String name, int[] xs, int[] ws, ConvSpec spec) {
        int[] ys = {xs[0], ws[0], spec.outH(xs[2], ws[2]), spec.outW(xs[3], ws[3])};
        l.add(new Check(name, Shape.str(xs) + "*" + Shape.str(ws), c -> {
            Pair x = rounded(c, xs), w = rounded(c, ws), dy = rounded(c, ys);
            Pair y = product(c, ys), dx = product(c, xs), dw = product(c, ws);
            c.ref.conv2dForward(x.ref(), w.ref(), y.ref(), spec);
            c.dut.conv2dForward(x.dut(), w.dut(), y.dut(), spec);
            c.compare("y", y, BF16_PRODUCT);
            c.ref.conv2dBackwardData(dy.ref(), w.ref(), dx.ref(), spec);
            c.dut.conv2dBackwardData(dy.dut(), w.dut(), dx.dut(), spec);
            c.compare("dx", dx, BF16_PRODUCT);
            c.ref.conv2dBackwardFilter(x.ref(), dy.ref(), dw.ref(), spec);
            c.dut.conv2dBackwardFilter(x.dut(), dy.dut(), dw.dut(), spec);
            c.compare("dw", dw, BF16_PRODUCT);
        }));
    }

    private static float[] withLead(float[] v, int lead) {
        float[] o = new float[v.length + lead];
        System.arraycopy(v, 0, o, lead, v.length);
        return o;
    }

    private static Pair view(Pair p, int offset, int n) { return new Pair(p.ref().narrow0(offset, n), p.dut().narrow0(offset, n)); }

    private static Pair bf16Out(Ctx c, int total, int offset, int n) {
        Tensor r = Tensor.empty(c.ref, DType.BF16, total), d = Tensor.empty(c.dut, DType.BF16, total);
        c.ref.fill(r, 0); // the CPU fills BF16 with 0 only; a device (bf16 compute) is poisoned with NaN
        c.dut.fill(d, c.dut.supportsBf16Compute() ? Double.NaN : 0);
        return new Pair(r.narrow0(offset, n), d.narrow0(offset, n));
    }

    /** A BF16 tensor holding exactly these bit patterns. */
    static Tensor bf16(Backend be, short[] bits) {
        Tensor t = Tensor.empty(be, DType.BF16, bits.length);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(Math.max(2L, 2L * bits.length), 8);
            MemorySegment.copy(bits, 0, seg, ValueLayout.JAVA_SHORT, 0, bits.length);
            be.copyFromHost(seg, t);
        }
        return t;
    }
}
