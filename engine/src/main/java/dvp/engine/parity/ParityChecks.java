package dvp.engine.parity;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.cpu.CpuConvChoice;
import dvp.engine.spi.Backend;
import dvp.engine.spi.ConvSpec;
import dvp.engine.spi.PoolSpec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Every backend primitive, forward and backward, run on a reference backend (the CPU) and on a
 * backend under test with the same fresh random inputs at odd sizes (not multiples of 32, so tail
 * handling is exercised), each output of the backend under test poisoned with NaN first so an
 * element it fails to write cannot pass. Used by the engine's BackendParityTest and by
 * {@code dvp selftest --device cuda}.
 *
 * <p>Tolerances: primitives whose kernels round every float operation exactly as the reference does
 * (the CUDA kernels use __fmul_rn/__fadd_rn/__fmaf_rn in the reference's order, so that nvcc cannot
 * contract them into FMAs) must agree to the last bit: {@link #BITWISE}, 0 — any difference is a
 * bug (e.g. a plain {@code a * b + c} that the compiler fuses). Reductions accumulate in double on
 * both sides but in another order (1e-6); GEMM and convolution sum in a different order (1e-4 in
 * fp32; looser with TF32, which the checks switch off).
 */
public final class ParityChecks {
    /** A named check that runs one or more primitives on both backends and compares every output. */
    public record Check(String op, String shape, Runner runner) {}

    @FunctionalInterface
    public interface Runner {
        void run(Ctx c);
    }

    private ParityChecks() {}

    /**
     * Runs one check inside its own scope (all tensors are freed afterwards). The CPU reference's
     * convolutions run dvp's java kernels, the reference that oneDNN's are tested against too.
     */
    public static List<ParityResult> run(Check check, Backend ref, Backend dut, long seed) {
        List<ParityResult> out = new ArrayList<>();
        CpuConvChoice.withJavaKernels(() -> {
            try (Scope s = Scope.open("parity " + check.op())) {
                check.runner().run(new Ctx(check, ref, dut, new Rng(seed), out));
                dut.synchronize();
            }
        });
        return out;
    }

    /** Inputs and outputs on both backends, and the comparison. */
    public static final class Ctx {
        final Check check;
        public final Backend ref, dut;
        final Rng rng;
        final List<ParityResult> results;

        Ctx(Check check, Backend ref, Backend dut, Rng rng, List<ParityResult> results) {
            this.check = check;
            this.ref = ref;
            this.dut = dut;
            this.rng = rng;
            this.results = results;
        }

        /** The same standard-normal data on both backends. */
        public Pair randn(int... shape) { return of(gaussian(shape, 1f), shape); }

        /** Uniform in [lo, hi) on both. */
        public Pair uniform(float lo, float hi, int... shape) {
            float[] d = new float[(int) Shape.numel(shape)];
            for (int i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * rng.nextFloat();
            return of(d, shape);
        }

        public Pair of(float[] data, int... shape) {
            return new Pair(Tensor.of(ref, data, shape), Tensor.of(dut, data, shape));
        }

        public Pair labels(int n, int classes) {
            long[] l = new long[n];
            for (int i = 0; i < n; i++) l[i] = rng.nextInt(classes);
            return new Pair(Tensor.ofLongs(ref, l, n), Tensor.ofLongs(dut, l, n));
        }

        float[] gaussian(int[] shape, float scale) {
            float[] d = new float[(int) Shape.numel(shape)];
            for (int i = 0; i < d.length; i++) d[i] = (float) rng.nextGaussian() * scale;
            return d;
        }

        /** An output on both backends; the one under test is filled with NaN (or -1 for integers). */
        public Pair out(DType dtype, int... shape) {
            Tensor r = Tensor.empty(ref, dtype, shape), d = Tensor.empty(dut, dtype, shape);
            dut.fill(d, dtype.isFloating() ? Double.NaN : -1);
            ref.fill(r, dtype.isFloating() ? Double.NaN : -1);
            return new Pair(r, d);
        }

        public Pair out(int... shape) { return out(DType.F32, shape); }

        /** Same primitive on both backends. */
        public void both(Consumer<Backend> onRef, Consumer<Backend> onDut) {
            onRef.accept(ref);
            onDut.accept(dut);
        }

        /** Compares one output pair bit for bit (NaN payloads included) and records the result. */
        public void compareBits(String output, Pair p) {
            results.add(ParityChecks.compareBits(check.op(), output, check.shape(), p.ref, p.dut));
        }

        /** Compares one output pair and records the result. */
        public void compare(String output, Pair p, double tolerance) {
            results.add(ParityChecks.compare(check.op(), output, check.shape(), p.ref, p.dut, tolerance));
        }
    }

    /** The reference-backend and backend-under-test tensors of one value. */
    public record Pair(Tensor ref, Tensor dut) {}

    static ParityResult compare(String op, String output, String shape, Tensor ref, Tensor dut, double tol) {
        double[] r = values(ref), d = values(dut);
        if (r.length != d.length)
            return new ParityResult(op, output, shape, Double.POSITIVE_INFINITY, tol, false, "sizes differ: " + r.length + " vs " + d.length);
        double scale = 0;
        for (double v : r) if (Double.isFinite(v)) scale = Math.max(scale, Math.abs(v));
        scale = Math.max(scale, 1e-30);
        double worst = 0;
        int bad = -1;
        for (int i = 0; i < r.length; i++) {
            double e;
            if (Double.isNaN(r[i]) && Double.isNaN(d[i])) e = 0;
            else if (Double.isFinite(r[i]) != Double.isFinite(d[i])) e = Double.POSITIVE_INFINITY;
            else if (!Double.isFinite(r[i])) e = r[i] == d[i] ? 0 : Double.POSITIVE_INFINITY;
            else e = Math.abs(d[i] - r[i]) / scale;
            if (e > worst || Double.isNaN(e)) {
                worst = e;
                bad = i;
            }
        }
        boolean pass = worst <= tol;
        String note = pass || bad < 0 ? "" : "worst at [" + bad + "]: expected " + r[bad] + ", got " + d[bad];
        return new ParityResult(op, output, shape, worst, tol, pass, note);
    }

    /** Raw bytes of two same-dtype tensors; the error is the fraction of elements whose bits differ. */
    static ParityResult compareBits(String op, String output, String shape, Tensor ref, Tensor dut) {
        if (ref.dtype() != dut.dtype() || ref.numel() != dut.numel())
            return new ParityResult(op, output, shape, Double.POSITIVE_INFINITY, 0, false, "differ: " + ref.describe() + " vs " + dut.describe());
        int es = ref.dtype().byteSize();
        byte[] r = rawBytes(ref), d = rawBytes(dut);
        long bad = 0, first = -1;
        for (int i = 0; i < ref.numel(); i++) {
            if (!Arrays.equals(r, i * es, (i + 1) * es, d, i * es, (i + 1) * es)) {
                bad++;
                if (first < 0) first = i;
            }
        }
        String note = bad == 0 ? "" : bad + " elements differ, first at [" + first + "]: expected 0x" + hex(r, (int) first, es)
                + ", got 0x" + hex(d, (int) first, es);
        return new ParityResult(op, output, shape, (double) bad / Math.max(1, ref.numel()), 0, bad == 0, note);
    }

    private static byte[] rawBytes(Tensor t) {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            Tensor c = t.isContiguous() ? t : t.copyContiguous();
            java.lang.foreign.MemorySegment seg = a.allocate(Math.max(8, c.numel() * c.dtype().byteSize()), 8);
            c.backend().copyToHost(c, seg);
            return seg.asSlice(0, c.numel() * c.dtype().byteSize()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    private static String hex(byte[] b, int i, int es) {
        StringBuilder s = new StringBuilder();
        for (int k = es - 1; k >= 0; k--) s.append(String.format("%02x", b[i * es + k])); // little-endian bytes, most significant first
        return s.toString();
    }

    private static double[] values(Tensor t) {
        return switch (t.dtype()) {
            case F32 -> { float[] f = t.toFloatArray(); double[] o = new double[f.length]; for (int i = 0; i < f.length; i++) o[i] = f[i]; yield o; }
            case BF16 -> { // exact: a bf16 value is the upper half of a float
                byte[] b = rawBytes(t);
                double[] o = new double[b.length / 2];
                for (int i = 0; i < o.length; i++) o[i] = dvp.engine.Bf16.toFloat((short) ((b[2 * i] & 0xFF) | (b[2 * i + 1] << 8)));
                yield o;
            }
            case I64 -> Arrays.stream(t.toLongArray()).asDoubleStream().toArray();
            case I32 -> { long[] l = toLongs(t); yield Arrays.stream(l).asDoubleStream().toArray(); }
            default -> throw new IllegalArgumentException("parity: cannot compare " + t.describe());
        };
    }

    private static long[] toLongs(Tensor t) {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment seg = a.allocate(Math.max(4, t.numel() * 4), 8);
            Tensor c = t.isContiguous() ? t : t.copyContiguous();
            c.backend().copyToHost(c, seg);
            long[] o = new long[(int) t.numel()];
            for (int i = 0; i < o.length; i++) o[i] = seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, i);
            return o;
        }
    }

    /** Bit-identical by construction (see the class comment). */
    static final double BITWISE = 0;
    static final double EXACT = 1e-6, REDUCE = 1e-6, GEMM = 1e-4, NORM = 1e-4;
    /**
     * margin-InfoNCE with GEMM logits (loss, dq; relative to the largest reference value). The
     * logits s = q·key of unit rows, summed in another order, differ by at most d·u (u = 2^-24;
     * 7.6e-6 at d = 128), so z = s/tau by d·u/tau (3.8e-5 at tau 0.2) in the worst case. The loss
     * (log-sum-exp minus z0, both 1-Lipschitz in the max norm) then moves by at most 2·d·u/tau =
     * 7.6e-5 absolute, under 1e-5 relative to a loss of ln K ≈ 7 to 8; dq adds the dq GEMM's own fp32
     * error. 1e-4 (the suite's GEMM tolerance) covers both worst cases; the simulator's cuBLAS sums
     * in double, so measured errors there are far smaller (see docs/cuda.md).
     */
    static final double INFONCE = 1e-4;
    /**
     * Fused batch norm + residual add + ReLU against the unfused CPU composition (relative to the
     * largest reference value). Per element both sides do the same float operations (forward
     * fma(x, scale, shift), + residual, max; backward fma(dz, a, fma(x − mean, b, shift)), dz the
     * masked dy, bit for bit), so only the per-channel sums differ: the device adds in double (the
     * forward with a shift), the CPU adds each plane of L elements in 16 float lanes of L/16 terms
     * and the planes in double. A float lane sum of m unit-scale terms of random sign is off by about
     * u·m/√2 (u = 2^-24), against a sum of about √(16·m·N): relative to the sum (and so to the mean,
     * the variance, Σdz, Σdz·x̂, dgamma, dbeta) about u·L/23, 14u = 8.4e-7 for the largest plane
     * here (L = 323). The coefficients derived from the sums (scale, shift, a, b) add at most 1 ulp
     * each where the two sides round across a float boundary, a few u of max|y| or max|dx|. 1e-5
     * keeps a factor of 10 over the sum of both; a wrong mask, a missed residual, a skipped element or
     * a wrong channel is off by O(1).
     */
    static final double BN_RELU = 1e-5;

    /** All checks, in SPI order. */
    public static List<Check> all() {
        List<Check> l = new ArrayList<>();
        // ---- memory
        l.add(new Check("copyFromHost/ToHost", "[3,37,5]", c -> {
            Pair x = c.randn(3, 37, 5);
            c.compare("x", x, 0);
        }));
        l.add(new Check("copy (strided view)", "[5,7,11]^T(2,0,1)", c -> {
            Pair x = c.randn(5, 7, 11);
            Pair y = c.out(11, 5, 7);
            c.ref.copy(x.ref().permute(2, 0, 1), y.ref());
            c.dut.copy(x.dut().permute(2, 0, 1), y.dut());
            c.compare("y", y, 0);
        }));
        l.add(new Check("copy (I64 narrow)", "[9] of [13]", c -> {
            Pair lab = c.labels(13, 1000);
            Pair y = c.out(DType.I64, 9);
            c.ref.copy(lab.ref().narrow0(3, 9), y.ref());
            c.dut.copy(lab.dut().narrow0(3, 9), y.dut());
            c.compare("y", y, 0);
        }));
        l.add(new Check("fill", "[1001]", c -> {
            Pair y = c.out(1001);
            c.ref.fill(y.ref(), -2.5);
            c.dut.fill(y.dut(), -2.5);
            c.compare("y", y, 0);
        }));
        // ---- elementwise
        l.add(new Check("axpby", "[4099]", c -> {
            Pair a = c.randn(4099), b = c.randn(4099), y = c.out(4099);
            c.ref.axpby(0.7f, a.ref(), -1.3f, b.ref(), y.ref());
            c.dut.axpby(0.7f, a.dut(), -1.3f, b.dut(), y.dut());
            c.compare("out", y, BITWISE);
        }));
        l.add(new Check("mul", "[3,1001]", c -> {
            Pair a = c.randn(3, 1001), b = c.randn(3, 1001), y = c.out(3, 1001);
            c.ref.mul(a.ref(), b.ref(), y.ref());
            c.dut.mul(a.dut(), b.dut(), y.dut());
            c.compare("out", y, BITWISE);
        }));
        l.add(new Check("scaleShift", "[999]", c -> {
            Pair a = c.randn(999), y = c.out(999);
            c.ref.scaleShift(a.ref(), 1.7f, -0.3f, y.ref());
            c.dut.scaleShift(a.dut(), 1.7f, -0.3f, y.dut());
            c.compare("out", y, BITWISE);
        }));
        l.add(new Check("scaleByScalarTensor", "[777]", c -> {
            Pair a = c.randn(777), s = c.randn(1), y = c.out(777);
            c.ref.scaleByScalarTensor(a.ref(), s.ref(), y.ref());
            c.dut.scaleByScalarTensor(a.dut(), s.dut(), y.dut());
            c.compare("out", y, BITWISE);
        }));
        l.add(new Check("rsqrtEps", "[513]", c -> {
            Pair x = c.uniform(0f, 3f, 513), y = c.out(513);
            c.ref.rsqrtEps(x.ref(), 1e-5f, y.ref());
            c.dut.rsqrtEps(x.dut(), 1e-5f, y.dut());
            c.compare("out", y, EXACT);
        }));
        l.add(new Check("relu / reluBackward", "[5,3,7,9]", c -> {
            Pair x = c.randn(5, 3, 7, 9), y = c.out(5, 3, 7, 9), dy = c.randn(5, 3, 7, 9), dx = c.out(5, 3, 7, 9);
            c.ref.relu(x.ref(), y.ref());
            c.dut.relu(x.dut(), y.dut());
            c.compare("y", y, 0);
            c.ref.reluBackward(y.ref(), dy.ref(), dx.ref());
            c.dut.reluBackward(y.dut(), dy.dut(), dx.dut());
            c.compare("dx", dx, 0);
        }));
        l.add(new Check("addRowVector / sumRows", "[37,53]", c -> {
            Pair x = c.randn(37, 53), v = c.randn(53), y = c.out(37, 53), s = c.out(53);
            c.ref.addRowVector(x.ref(), v.ref(), y.ref());
            c.dut.addRowVector(x.dut(), v.dut(), y.dut());
            c.compare("out", y, BITWISE);
            c.ref.sumRows(x.ref(), s.ref());
            c.dut.sumRows(x.dut(), s.dut());
            c.compare("colsum", s, REDUCE);
        }));
        l.add(new Check("sumRows (many rows)", "[1031,3]", c -> {
            Pair x = c.randn(1031, 3), s = c.out(3);
            c.ref.sumRows(x.ref(), s.ref());
            c.dut.sumRows(x.dut(), s.dut());
            c.compare("colsum", s, REDUCE);
        }));
        l.add(new Check("sumAll", "[1000003]", c -> {
            Pair x = c.randn(1000003), s = c.out(1);
            c.ref.sumAll(x.ref(), s.ref());
            c.dut.sumAll(x.dut(), s.dut());
            c.compare("sum", s, REDUCE);
        }));
        // ---- per-channel
        l.add(new Check("channelAffine / Sum / Dot", "[3,5,11,13]", c -> {
            Pair x = c.randn(3, 5, 11, 13), y2 = c.randn(3, 5, 11, 13), sc = c.randn(5), sh = c.randn(5);
            Pair y = c.out(3, 5, 11, 13), yn = c.out(3, 5, 11, 13), cs = c.out(5), cd = c.out(5);
            c.ref.channelAffine(x.ref(), sc.ref(), sh.ref(), y.ref());
            c.dut.channelAffine(x.dut(), sc.dut(), sh.dut(), y.dut());
            c.compare("affine", y, BITWISE);
            c.ref.channelAffine(x.ref(), sc.ref(), null, yn.ref());
            c.dut.channelAffine(x.dut(), sc.dut(), null, yn.dut());
            c.compare("affine0", yn, BITWISE);
            c.ref.channelSum(x.ref(), cs.ref());
            c.dut.channelSum(x.dut(), cs.dut());
            c.compare("sum", cs, REDUCE);
            c.ref.channelDot(x.ref(), y2.ref(), cd.ref());
            c.dut.channelDot(x.dut(), y2.dut(), cd.dut());
            c.compare("dot", cd, REDUCE);
        }));
        l.add(new Check("channelSum (large plane)", "[2,3,181,181]", c -> {
            Pair x = c.randn(2, 3, 181, 181), cs = c.out(3);
            c.ref.channelSum(x.ref(), cs.ref());
            c.dut.channelSum(x.dut(), cs.dut());
            c.compare("sum", cs, REDUCE);
        }));
        // ---- GEMM
        for (boolean ta : new boolean[]{false, true}) {
            for (boolean tb : new boolean[]{false, true}) {
                String sh = "37x29 @ 29x53" + (ta ? " A^T" : "") + (tb ? " B^T" : "");
                l.add(new Check("matmul", sh, c -> {
                    int m = 37, k = 29, n = 53;
                    Pair a = ta ? c.randn(k, m) : c.randn(m, k), b = tb ? c.randn(n, k) : c.randn(k, n);
                    Pair y = c.out(m, n);
                    c.ref.matmul(a.ref(), ta, b.ref(), tb, y.ref(), 1f, 0f);
                    c.dut.matmul(a.dut(), ta, b.dut(), tb, y.dut(), 1f, 0f);
                    c.compare("out", y, GEMM);
                }));
            }
        }
        l.add(new Check("matmul (alpha, beta)", "65x129 @ 129x33", c -> {
            Pair a = c.randn(65, 129), b = c.randn(129, 33), y0 = c.randn(65, 33);
            c.ref.matmul(a.ref(), false, b.ref(), false, y0.ref(), 0.5f, 0.25f);
            c.dut.matmul(a.dut(), false, b.dut(), false, y0.dut(), 0.5f, 0.25f);
            c.compare("out", y0, GEMM);
        }));
        // ---- convolution
        conv(l, "conv 3x3 s1 p1", new int[]{3, 5, 13, 11}, new int[]{7, 5, 3, 3}, ConvSpec.of(1, 1, 1));
        conv(l, "conv 3x3 s2 p1 g2", new int[]{2, 6, 15, 15}, new int[]{10, 3, 3, 3}, ConvSpec.of(2, 1, 2));
        conv(l, "conv 1x1 s2", new int[]{3, 9, 9, 9}, new int[]{5, 9, 1, 1}, ConvSpec.of(2, 0, 1));
        conv(l, "conv 7x7 s2 p3", new int[]{2, 3, 23, 23}, new int[]{8, 3, 7, 7}, ConvSpec.of(2, 3, 1));
        conv(l, "conv 3x3 g32 (ResNeXt)", new int[]{2, 64, 9, 9}, new int[]{64, 2, 3, 3}, ConvSpec.of(1, 1, 32));
        // ---- batch norm
        Bf16Checks.addTo(l); // casts, bf16 GEMMs and convolutions (mixed precision)
        Bf16ActivationChecks.addTo(l); // bf16 activations: ReLU, add, batch norm, pools, layouts (autocast's storage)
        bn(l, "[5,7,9,11] eps 1e-5", new int[]{5, 7, 9, 11}, 1e-5f);
        bn(l, "[3,6,5,5] eps 1e-6", new int[]{3, 6, 5, 5}, 1e-6f); // below cuDNN 7's minimum (1e-5); cuDNN 9 takes any eps >= 0
        bn(l, "[37,19] (BatchNorm1d)", new int[]{37, 19}, 1e-5f);
        // ---- batch norm + residual add + ReLU, fused (NCHW F32 here): planes with quads and a scalar head/tail
        // (99 elements, TX 8), 323 (TX 32), 1 (TX 1, two image slices of 256 at N 301), a shifted mean,
        // and views at an odd offset (x and y in different 16-byte phases: the scalar path)
        bnRelu(l, new int[]{5, 7, 9, 11}, true, true, 0f, 0);
        bnRelu(l, new int[]{5, 7, 9, 11}, false, true, 0f, 0);
        bnRelu(l, new int[]{5, 7, 9, 11}, true, false, 0f, 0);
        bnRelu(l, new int[]{3, 5, 17, 19}, true, true, 3f, 0);
        bnRelu(l, new int[]{301, 3, 1, 1}, true, true, 0f, 0);
        bnRelu(l, new int[]{3, 6, 5, 5}, true, true, 0f, 1);
        bnRelu(l, new int[]{3, 6, 5, 5}, false, false, 0f, 1);
        BnReluChecks.addTo(l); // the same fused op channels-last (NHWC kernels) and in bf16, both layouts
        // ---- pooling
        l.add(new Check("maxPool2d k3 s2 p1", "[3,5,17,15]", c -> {
            int[] xs = {3, 5, 17, 15};
            PoolSpec p = new PoolSpec(3, 2, 1);
            int ho = p.out(17), wo = p.out(15);
            Pair x = c.randn(xs), y = c.out(3, 5, ho, wo), am = c.out(DType.I32, 3, 5, ho, wo);
            Pair dy = c.randn(3, 5, ho, wo), dx = c.out(xs);
            c.ref.maxPool2dForward(x.ref(), y.ref(), am.ref(), p);
            c.dut.maxPool2dForward(x.dut(), y.dut(), am.dut(), p);
            c.compare("y", y, 0);
            c.compare("argmax", am, 0);
            c.ref.maxPool2dBackward(dy.ref(), am.ref(), dx.ref());
            c.dut.maxPool2dBackward(dy.dut(), am.dut(), dx.dut());
            c.compare("dx", dx, BITWISE);
        }));
        l.add(new Check("globalAvgPool", "[3,7,9,11]", c -> {
            Pair x = c.randn(3, 7, 9, 11), y = c.out(3, 7), dy = c.randn(3, 7), dx = c.out(3, 7, 9, 11);
            c.ref.globalAvgPoolForward(x.ref(), y.ref());
            c.dut.globalAvgPoolForward(x.dut(), y.dut());
            c.compare("y", y, REDUCE);
            c.ref.globalAvgPoolBackward(dy.ref(), dx.ref());
            c.dut.globalAvgPoolBackward(dy.dut(), dx.dut());
            c.compare("dx", dx, BITWISE);
        }));
        // ---- rows
        l.add(new Check("l2Normalize", "[37,129]", c -> {
            float[] d = c.gaussian(new int[]{37, 129}, 1f);
            for (int j = 0; j < 129; j++) d[5 * 129 + j] = 1e-14f; // one row below eps: the clamped branch
            Pair x = c.of(d, 37, 129), y = c.out(37, 129), nr = c.out(37), dy = c.randn(37, 129), dx = c.out(37, 129);
            c.ref.l2NormalizeForward(x.ref(), 1e-12f, y.ref(), nr.ref());
            c.dut.l2NormalizeForward(x.dut(), 1e-12f, y.dut(), nr.dut());
            c.compare("y", y, EXACT);
            c.compare("norms", nr, REDUCE);
            c.ref.l2NormalizeBackward(dy.ref(), y.ref(), nr.ref(), 1e-12f, dx.ref());
            c.dut.l2NormalizeBackward(dy.dut(), y.dut(), nr.dut(), 1e-12f, dx.dut());
            c.compare("dx", dx, REDUCE);
        }));
        for (float smoothing : new float[]{0f, 0.1f}) {
            l.add(new Check("softmaxCrossEntropy ls=" + smoothing, "[37,1001]", c -> {
                float[] z = c.gaussian(new int[]{37, 1001}, 4f);
                Pair logits = c.of(z, 37, 1001), lab = c.labels(37, 1001), loss = c.out(1), probs = c.out(37, 1001);
                Pair g = c.uniform(0.5f, 2f, 1), dz = c.out(37, 1001);
                c.ref.softmaxCrossEntropyForward(logits.ref(), lab.ref(), smoothing, loss.ref(), probs.ref());
                c.dut.softmaxCrossEntropyForward(logits.dut(), lab.dut(), smoothing, loss.dut(), probs.dut());
                c.compare("loss", loss, REDUCE);
                c.compare("probs", probs, REDUCE);
                c.ref.softmaxCrossEntropyBackward(probs.ref(), lab.ref(), smoothing, g.ref(), dz.ref());
                c.dut.softmaxCrossEntropyBackward(probs.dut(), lab.dut(), smoothing, g.dut(), dz.dut());
                c.compare("dlogits", dz, REDUCE);
            }));
        }
        // ---- optimizer
        for (int variant = 0; variant < 3; variant++) {
            final int v = variant;
            String name = switch (v) { case 0 -> "plain"; case 1 -> "momentum+wd"; default -> "nesterov, 2 steps"; };
            l.add(new Check("sgdUpdate " + name, "[1027]", c -> {
                Pair p = c.randn(1027), g = c.randn(1027), buf = c.randn(1027);
                float mom = v == 0 ? 0f : 0.9f, wd = v == 0 ? 0f : 1e-4f, damp = v == 1 ? 0.1f : 0f;
                for (int step = 0; step < (v == 2 ? 2 : 1); step++) {
                    boolean first = step == 0 && v != 1;
                    c.ref.sgdUpdate(p.ref(), g.ref(), v == 0 ? null : buf.ref(), 0.1f, mom, damp, wd, v == 2, first);
                    c.dut.sgdUpdate(p.dut(), g.dut(), v == 0 ? null : buf.dut(), 0.1f, mom, damp, wd, v == 2, first);
                }
                c.compare("param", p, BITWISE);
                if (v != 0) c.compare("buffer", buf, BITWISE);
            }));
        }
        // ---- multi-tensor optimizer updates: a list of odd sizes (1 to 3 chunks of the CUDA table's 4096
        // elements) including views at a 4-byte offset (the kernel's scalar path next to its 16-byte one).
        // Compared bit for bit with the CPU reference and with the same backend's per-tensor primitive
        // (sgdUpdate / axpby on copies of the inputs): the multi-tensor kernels round like them.
        for (int variant = 0; variant < 3; variant++) {
            final int v = variant;
            String name = switch (v) { case 0 -> "plain"; case 1 -> "momentum+wd+dampening"; default -> "nesterov+wd, 2 steps"; };
            l.add(new Check("sgdUpdateMulti " + name, Arrays.toString(MULTI_SIZES) + " (2 at offset 1)", c -> {
                float mom = v == 0 ? 0f : 0.9f, wd = v == 0 ? 0f : 1e-4f, damp = v == 1 ? 0.1f : 0f;
                int k = MULTI_SIZES.length;
                Pair[] p = new Pair[k], g = new Pair[k], buf = new Pair[k];
                Tensor[] pSingle = new Tensor[k], bufSingle = new Tensor[k];
                for (int i = 0; i < k; i++) {
                    p[i] = multiTensor(c, i, i == 1);
                    g[i] = multiTensor(c, i, i == 3);
                    buf[i] = multiTensor(c, i, false);
                    pSingle[i] = p[i].dut().copyContiguous();
                    bufSingle[i] = buf[i].dut().copyContiguous();
                }
                Pair lr = c.of(new float[]{0.1f}, 1);
                for (int step = 0; step < (v == 2 ? 2 : 1); step++) {
                    boolean first = step == 0 && v != 1;
                    c.ref.sgdUpdateMulti(refs(p), refs(g), v == 0 ? null : refs(buf), lr.ref(), mom, damp, wd, v == 2, first);
                    c.dut.sgdUpdateMulti(duts(p), duts(g), v == 0 ? null : duts(buf), lr.dut(), mom, damp, wd, v == 2, first);
                    for (int i = 0; i < k; i++)
                        c.dut.sgdUpdate(pSingle[i], g[i].dut(), v == 0 ? null : bufSingle[i], 0.1f, mom, damp, wd, v == 2, first);
                }
                for (int i = 0; i < k; i++) {
                    c.compare("param" + i, p[i], BITWISE);
                    c.compare("param" + i + " vs per-tensor", new Pair(pSingle[i], p[i].dut()), BITWISE);
                    if (v != 0) {
                        c.compare("buffer" + i, buf[i], BITWISE);
                        c.compare("buffer" + i + " vs per-tensor", new Pair(bufSingle[i], buf[i].dut()), BITWISE);
                    }
                }
            }));
        }
        l.add(new Check("axpbyMulti (out = a, MoCo's EMA)", Arrays.toString(MULTI_SIZES) + " (2 at offset 1)", c -> {
            int k = MULTI_SIZES.length;
            Pair[] a = new Pair[k], b = new Pair[k];
            Tensor[] single = new Tensor[k];
            for (int i = 0; i < k; i++) {
                a[i] = multiTensor(c, i, i == 2);
                b[i] = multiTensor(c, i, i == 4);
                single[i] = a[i].dut().copyContiguous();
            }
            float eta = 0.999f, rest = (float) (1.0 - 0.999);
            c.ref.axpbyMulti(eta, refs(a), rest, refs(b), refs(a));
            c.dut.axpbyMulti(eta, duts(a), rest, duts(b), duts(a));
            for (int i = 0; i < k; i++) c.dut.axpby(eta, single[i], rest, b[i].dut(), single[i]);
            for (int i = 0; i < k; i++) {
                c.compare("a" + i, a[i], BITWISE);
                c.compare("a" + i + " vs per-tensor", new Pair(single[i], a[i].dut()), BITWISE);
            }
        }));
        // ---- contrastive and distillation losses
        // margin-InfoNCE: the CUDA logits come from a GEMM (cuBLAS's summation order), so the outputs
        // agree within fp32 GEMM error, not bit for bit (INFONCE, below). Positives are random unit
        // vectors (every row misses) or q plus noise (most rows hit), so accuracy is a real count.
        for (int dims : new int[]{128, 67}) {
            for (boolean related : new boolean[]{false, true}) {
                int n = related ? 29 : 37, k = related ? 1031 : 4133;
                l.add(new Check("marginInfoNce" + (related ? " (positives near q)" : ""), "N=" + n + " d=" + dims + " K=" + k, c -> {
                    int d = dims;
                    float[] qv = unitRows(c.gaussian(new int[]{n, d}, 1f), d);
                    float[] kv = c.gaussian(new int[]{n, d}, 1f);
                    if (related) for (int x = 0; x < kv.length; x++) kv[x] = qv[x] + 0.08f * kv[x];
                    Pair q = c.of(qv, n, d), kp = c.of(unitRows(kv, d), n, d);
                    Pair queue = c.of(unitRows(c.gaussian(new int[]{k, d}, 1f), d), k, d);
                    Pair loss = c.out(1), acc = c.out(1), dq = c.out(n, d), loss2 = c.out(1), acc2 = c.out(1);
                    c.ref.marginInfoNceForward(q.ref(), kp.ref(), queue.ref(), 0.4f, 0.2f, loss.ref(), acc.ref(), dq.ref());
                    c.dut.marginInfoNceForward(q.dut(), kp.dut(), queue.dut(), 0.4f, 0.2f, loss.dut(), acc.dut(), dq.dut());
                    float refAcc = acc.ref().toFloatArray()[0];
                    if (related ? !(refAcc > 0.5f && refAcc < 1f) : refAcc != 0f)
                        throw new AssertionError("the check's inputs no longer give the intended accuracy: " + refAcc);
                    c.compare("loss", loss, INFONCE);
                    c.compare("accuracy", acc, 0);
                    c.compare("dq", dq, INFONCE);
                    c.ref.marginInfoNceForward(q.ref(), kp.ref(), queue.ref(), 0.4f, 0.2f, loss2.ref(), acc2.ref(), null);
                    c.dut.marginInfoNceForward(q.dut(), kp.dut(), queue.dut(), 0.4f, 0.2f, loss2.dut(), acc2.dut(), null);
                    c.compare("loss(no dq)", loss2, INFONCE);
                    c.compare("accuracy(no dq)", acc2, 0);
                }));
            }
        }
        l.add(new Check("marginInfoNce (empty queue)", "N=5 d=16 K=0", c -> {
            // MoCo's first iterations before the queue is filled could use K = 0: only the positive
            // logit remains (loss 0, accuracy 1, dq 0). The CUDA path once read scratch nothing wrote.
            int n = 5, d = 16;
            Pair q = c.of(unitRows(c.gaussian(new int[]{n, d}, 1f), d), n, d);
            Pair kp = c.of(unitRows(c.gaussian(new int[]{n, d}, 1f), d), n, d);
            Pair queue = c.of(new float[0], 0, d);
            Pair loss = c.out(1), acc = c.out(1), dq = c.out(n, d);
            c.ref.marginInfoNceForward(q.ref(), kp.ref(), queue.ref(), 0.4f, 0.2f, loss.ref(), acc.ref(), dq.ref());
            c.dut.marginInfoNceForward(q.dut(), kp.dut(), queue.dut(), 0.4f, 0.2f, loss.dut(), acc.dut(), dq.dut());
            c.compare("loss", loss, REDUCE);
            c.compare("accuracy", acc, 0);
            c.compare("dq", dq, REDUCE);
        }));
        l.add(new Check("enqueueKeys", "K=12 B=3 d=5", c -> {
            Pair queue = c.randn(12, 5), keys = c.randn(3, 5);
            Pair ptr = new Pair(Tensor.ofLongs(c.ref, new long[]{6}, 1), Tensor.ofLongs(c.dut, new long[]{6}, 1));
            for (int i = 0; i < 3; i++) { // 6 -> 9 -> 0 (wraps) -> 3
                c.ref.enqueueKeys(queue.ref(), keys.ref(), ptr.ref());
                c.dut.enqueueKeys(queue.dut(), keys.dut(), ptr.dut());
            }
            c.compare("queue", queue, 0);
            c.compare("ptr", ptr, 0);
        }));
        // gatherRows copies bits: bitwise. A permutation (MoCo's key shuffle) and its inverse restore
        // x exactly; a gather with repeated and skipped rows; rows longer than one block's stride
        // (4551 elements) and a row of one element.
        gather(l, "permutation, inverse", new int[]{13, 3, 5, 7}, 13, true);
        gather(l, "repeats", new int[]{11, 2, 3, 3}, 17, false);
        gather(l, "long rows", new int[]{5, 3, 37, 41}, 7, false);
        gather(l, "one-element rows", new int[]{9, 1}, 9, true);
        // OFD: the CUDA kernels see rows (NCHW: one channel per row of H·W; NHWC: one channel per
        // column of a row of C) with a scalar head and tail around 16-byte quads; these shapes give rows
        // of odd length (the quads' phase moves from row to row), rows of whole quads, rows split over
        // two column chunks, channels-last with one and with several quads per row, and views at an
        // odd element offset (s and t in the same phase: quads; in different phases: all scalar).
        ofd(l, "NCHW", new int[]{3, 5, 7, 9}, 63, 0, 0);
        ofd(l, "NHWC", new int[]{3, 7, 9, 5}, 1, 0, 0);
        ofd(l, "NCHW rows of whole quads", new int[]{2, 3, 20, 20}, 400, 0, 0);
        ofd(l, "NCHW two column chunks", new int[]{1, 2, 67, 67}, 67 * 67, 0, 0);
        ofd(l, "NHWC C=64", new int[]{2, 5, 7, 64}, 1, 0, 0);
        ofd(l, "NCHW s, t at offset 1", new int[]{3, 3, 7, 9}, 63, 1, 1);
        ofd(l, "NCHW s at offset 1", new int[]{3, 3, 7, 9}, 63, 1, 0);
        ofd(l, "NHWC t at offset 1", new int[]{2, 3, 5, 12}, 1, 0, 1);
        ofd(l, "NCHW 3x3 planes", new int[]{5, 7, 3, 3}, 9, 0, 0);
        Bf16LossChecks.addTo(l); // margin-InfoNCE on bf16 operands, OFD on bf16 features
        l.addAll(ChannelsLastChecks.all());
        return l;
    }

    /** out = x[index] for n random indices (a random permutation of R when {@code permutation}), bitwise. */
    private static void gather(List<Check> l, String what, int[] shape, int n, boolean permutation) {
        l.add(new Check("gatherRows (" + what + ")", Shape.str(shape) + " N=" + n, c -> {
            Pair x = c.randn(shape);
            long[] idx = new long[n];
            if (permutation) {
                int[] p = c.rng.permutation(n);
                for (int i = 0; i < n; i++) idx[i] = p[i];
            } else {
                for (int i = 0; i < n; i++) idx[i] = c.rng.nextInt(shape[0]);
            }
            Pair index = new Pair(Tensor.ofLongs(c.ref, idx, n), Tensor.ofLongs(c.dut, idx, n));
            int[] outShape = shape.clone();
            outShape[0] = n;
            Pair out = c.out(outShape);
            c.ref.gatherRows(x.ref(), index.ref(), out.ref());
            c.dut.gatherRows(x.dut(), index.dut(), out.dut());
            c.compare("out", out, BITWISE);
            if (permutation) { // scattering back through the inverse permutation restores x
                long[] inv = new long[n];
                for (int i = 0; i < n; i++) inv[(int) idx[i]] = i;
                Pair back = c.out(shape);
                Tensor invRef = Tensor.ofLongs(c.ref, inv, n), invDut = Tensor.ofLongs(c.dut, inv, n);
                c.ref.gatherRows(out.ref(), invRef, back.ref());
                c.dut.gatherRows(out.dut(), invDut, back.dut());
                c.compare("inverse", back, BITWISE);
                c.compare("inverse restores x", new Pair(x.ref(), back.dut()), BITWISE);
            }
        }));
    }

    /** Tensor sizes of the multi-tensor checks: odd, from one element to three CUDA table chunks. */
    static final int[] MULTI_SIZES = {1, 4099, 37, 8195, 3, 1027};

    /** Tensor i of a multi-tensor check: fresh normal values, as a view at a 4-byte offset when {@code offset}. */
    private static Pair multiTensor(Ctx c, int i, boolean offset) {
        int n = MULTI_SIZES[i];
        if (!offset) return c.randn(n);
        Pair whole = c.randn(n + 1);
        return new Pair(whole.ref().narrow0(1, n), whole.dut().narrow0(1, n));
    }

    private static Tensor[] refs(Pair[] p) { return Arrays.stream(p).map(Pair::ref).toArray(Tensor[]::new); }

    private static Tensor[] duts(Pair[] p) { return Arrays.stream(p).map(Pair::dut).toArray(Tensor[]::new); }

    /** Each row of a [rows, d] matrix scaled to unit L2 norm (MoCo's features are normalised). */
    static float[] unitRows(float[] x, int d) {
        for (int r = 0; r < x.length / d; r++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += (double) x[r * d + j] * x[r * d + j];
            float inv = (float) (1 / Math.sqrt(s));
            for (int j = 0; j < d; j++) x[r * d + j] *= inv;
        }
        return x;
    }

    /**
     * OFD loss and gradient on s, t of {@code shape} (the given channel stride; the channel count is
     * shape[1] for NCHW, shape[3] for NHWC). With an offset, the tensor is a view that starts
     * {@code offset} elements into its storage (rows of a bigger tensor, flattened).
     */
    private static void ofd(List<Check> l, String name, int[] shape, int stride, int sOffset, int tOffset) {
        int channels = stride == 1 ? shape[3] : shape[1];
        l.add(new Check("ofdLoss " + name, Shape.str(shape) + " stride " + stride, c -> {
            Pair s = ofdInput(c, shape, sOffset), t = ofdInput(c, shape, tOffset);
            Pair m = c.uniform(-1f, -0.05f, channels), g = c.uniform(0.5f, 2f, 1);
            Pair loss = c.out(1), ds = c.out(shape);
            c.ref.ofdLossForward(s.ref(), t.ref(), m.ref(), 1e-4f, stride, loss.ref());
            c.dut.ofdLossForward(s.dut(), t.dut(), m.dut(), 1e-4f, stride, loss.dut());
            c.compare("loss", loss, REDUCE);
            c.ref.ofdLossBackward(s.ref(), t.ref(), m.ref(), 1e-4f, stride, g.ref(), ds.ref());
            c.dut.ofdLossBackward(s.dut(), t.dut(), m.dut(), 1e-4f, stride, g.dut(), ds.dut());
            c.compare("ds", ds, BITWISE);
        }));
    }

    private static Pair ofdInput(Ctx c, int[] shape, int offset) {
        if (offset == 0) return c.randn(shape);
        int n = (int) Shape.numel(shape);
        Pair flat = c.randn(n + offset);
        return new Pair(flat.ref().narrow0(offset, n).view(shape), flat.dut().narrow0(offset, n).view(shape));
    }

    private static void conv(List<Check> l, String name, int[] xs, int[] ws, ConvSpec spec) {
        int ho = spec.outH(xs[2], ws[2]), wo = spec.outW(xs[3], ws[3]);
        int[] ys = {xs[0], ws[0], ho, wo};
        l.add(new Check(name, Shape.str(xs) + "*" + Shape.str(ws), c -> {
            Pair x = c.randn(xs), w = c.randn(ws), y = c.out(ys), dy = c.randn(ys), dx = c.out(xs), dw = c.out(ws);
            c.ref.conv2dForward(x.ref(), w.ref(), y.ref(), spec);
            c.dut.conv2dForward(x.dut(), w.dut(), y.dut(), spec);
            c.compare("y", y, GEMM);
            c.ref.conv2dBackwardData(dy.ref(), w.ref(), dx.ref(), spec);
            c.dut.conv2dBackwardData(dy.dut(), w.dut(), dx.dut(), spec);
            c.compare("dx", dx, GEMM);
            c.ref.conv2dBackwardFilter(x.ref(), dy.ref(), dw.ref(), spec);
            c.dut.conv2dBackwardFilter(x.dut(), dy.dut(), dw.dut(), spec);
            c.compare("dw", dw, GEMM);
        }));
    }

    private static void bn(List<Check> l, String shape, int[] xs, float eps) {
        l.add(new Check("batchNormTrain", shape, c -> {
            int ch = xs[1];
            Pair x = c.randn(xs), gamma = c.uniform(0.5f, 1.5f, ch), beta = c.randn(ch);
            Pair rm = c.randn(ch), rv = c.uniform(0.5f, 2f, ch);
            Pair y = c.out(xs), mean = c.out(ch), inv = c.out(ch);
            Pair dy = c.randn(xs), dx = c.out(xs), dg = c.out(ch), db = c.out(ch);
            c.ref.batchNormTrainForward(x.ref(), gamma.ref(), beta.ref(), rm.ref(), rv.ref(), 0.1f, eps, y.ref(), mean.ref(), inv.ref());
            c.dut.batchNormTrainForward(x.dut(), gamma.dut(), beta.dut(), rm.dut(), rv.dut(), 0.1f, eps, y.dut(), mean.dut(), inv.dut());
            c.compare("y", y, NORM);
            c.compare("mean", mean, NORM);
            c.compare("invstd", inv, NORM);
            c.compare("run_mean", rm, NORM);
            c.compare("run_var", rv, NORM);
            c.ref.batchNormTrainBackward(x.ref(), dy.ref(), gamma.ref(), mean.ref(), inv.ref(), dx.ref(), dg.ref(), db.ref());
            c.dut.batchNormTrainBackward(x.dut(), dy.dut(), gamma.dut(), mean.dut(), inv.dut(), dx.dut(), dg.dut(), db.dut());
            c.compare("dx", dx, NORM);
            c.compare("dgamma", dg, NORM);
            c.compare("dbeta", db, NORM);
        }));
    }

    /**
     * batchNormReluTrainForward/Backward on x of shape xs (+ a residual when {@code residual}),
     * ReLU or identity; x is standard normal plus {@code shift} (a mean far from 0); tensors are
     * views at element offset {@code offset} when it is not 0. The backward gets its own y
     * (ReLU of fresh data, bit-identical on both sides: a 1-ulp difference of the forwards' y
     * around 0 could flip a mask) and its own statistics, so it is compared independently of the
     * forward.
     */
    private static void bnRelu(List<Check> l, int[] xs, boolean residual, boolean relu, float shift, int offset) {
        String shape = Shape.str(xs) + (residual ? " + residual" : "") + (relu ? " relu" : " (no relu)")
                + (shift != 0 ? " mean " + shift : "") + (offset != 0 ? " at offset " + offset : "");
        l.add(new Check("batchNormReluTrain", shape, c -> {
            int ch = xs[1];
            Pair x = offsetView(c, c.randn(xs), offset, xs), gamma = c.uniform(0.5f, 1.5f, ch), beta = c.randn(ch);
            if (shift != 0) c.both(b -> b.scaleShift(x.ref(), 1f, shift, x.ref()), b -> b.scaleShift(x.dut(), 1f, shift, x.dut()));
            Pair r = residual ? offsetView(c, c.randn(xs), offset == 0 ? 0 : offset + 1, xs) : new Pair(null, null);
            Pair rm = c.randn(ch), rv = c.uniform(0.5f, 2f, ch);
            Pair y = c.out(xs), mean = c.out(ch), inv = c.out(ch);
            c.ref.batchNormReluTrainForward(x.ref(), r.ref(), gamma.ref(), beta.ref(), rm.ref(), rv.ref(), 0.1f, 1e-5f, relu,
                    y.ref(), mean.ref(), inv.ref());
            c.dut.batchNormReluTrainForward(x.dut(), r.dut(), gamma.dut(), beta.dut(), rm.dut(), rv.dut(), 0.1f, 1e-5f, relu,
                    y.dut(), mean.dut(), inv.dut());
            c.compare("y", y, BN_RELU);
            c.compare("mean", mean, BN_RELU);
            c.compare("invstd", inv, BN_RELU);
            c.compare("run_mean", rm, BN_RELU);
            c.compare("run_var", rv, BN_RELU);
            Pair yb = c.randn(xs), m = c.randn(ch), iv = c.uniform(0.5f, 2f, ch), dy = offsetView(c, c.randn(xs), offset, xs);
            c.both(b -> b.relu(yb.ref(), yb.ref()), b -> b.relu(yb.dut(), yb.dut()));
            Pair dx = c.out(xs), dg = c.out(ch), db = c.out(ch), dr = residual ? c.out(xs) : new Pair(null, null);
            c.ref.batchNormReluTrainBackward(x.ref(), relu ? yb.ref() : null, dy.ref(), gamma.ref(), m.ref(), iv.ref(), relu,
                    dx.ref(), dr.ref(), dg.ref(), db.ref());
            c.dut.batchNormReluTrainBackward(x.dut(), relu ? yb.dut() : null, dy.dut(), gamma.dut(), m.dut(), iv.dut(), relu,
                    dx.dut(), dr.dut(), dg.dut(), db.dut());
            c.compare("dx", dx, BN_RELU);
            if (residual) c.compare("dresidual", dr, BITWISE);
            c.compare("dgamma", dg, BN_RELU);
            c.compare("dbeta", db, BN_RELU);
        }));
    }

    /** The same values as p, as a contiguous view at element offset {@code offset} of a larger tensor (p itself for 0). */
    private static Pair offsetView(Ctx c, Pair p, int offset, int[] shape) {
        if (offset == 0) return p;
        int n = (int) Shape.numel(shape);
        Pair flat = c.randn(n + offset);
        Tensor r = flat.ref().narrow0(offset, n).view(shape), d = flat.dut().narrow0(offset, n).view(shape);
        c.ref.copy(p.ref(), r);
        c.dut.copy(p.dut(), d);
        return new Pair(r, d);
    }
}
