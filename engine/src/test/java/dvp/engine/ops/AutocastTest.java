package dvp.engine.ops;

import dvp.engine.Bf16;
import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.spi.Backend;
import dvp.engine.spi.ComputeSettings;
import dvp.engine.spi.ConvSpec;
import dvp.engine.spi.Precision;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.api.Test;

import static dvp.engine.testing.Tensors.cpu;
import static dvp.engine.testing.Tensors.relError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Autocast}: on the (simulated) CUDA device, conv2d and matmul under bf16 autocast are exactly
 * "cast the fp32 operands to bf16, run the bf16 primitive" (the bf16 result kept, as PyTorch stores it) forward and
 * backward (gradients fp32 for fp32 leaves), and agree with the CPU's fp32 arithmetic on the
 * bf16-rounded operands within the parity suite's bf16 tolerance; the CPU reference refuses bf16
 * autocast and computes in fp32 untouched even while autocast is on for the thread.
 */
class AutocastTest {
    /** As ParityChecks' bf16 product tolerance: u (1 + 1e-4) + 1e-4, u = 2^-8 (see Bf16Checks). */
    private static final double BF16_PRODUCT = Bf16.UNIT_ROUNDOFF * (1 + 1e-4) + 1e-4;

    private static Tensor on(Backend be, float[] v, int... shape) { return Tensor.of(be, v, shape).requiresGrad(true); }

    private static float[] rounded(float[] v) {
        float[] o = new float[v.length];
        for (int i = 0; i < v.length; i++) o[i] = Bf16.round(v[i]);
        return o;
    }

    @Test
    void conv2dUnderAutocastIsTheBf16ConvolutionBetweenCasts() {
        CudaBackend cuda = CudaTesting.cuda();
        Rng rng = new Rng(31);
        int[] xs = {2, 5, 11, 9}, ws = {7, 5, 3, 3};
        ConvSpec spec = ConvSpec.of(2, 1, 1);
        float[] xv = rng.normal(2 * 5 * 11 * 9, 0, 1), wv = rng.normal(7 * 5 * 9, 0, 1);
        int[] ys = {2, 7, 6, 5};
        float[] gv = rng.normal(2 * 7 * 6 * 5, 0, 1);
        try (Scope s = Scope.open("autocast conv")) {
            Tensor x = on(cuda, xv, xs), w = on(cuda, wv, ws), g = Tensor.of(cuda, gv, ys);
            Tensor y;
            try (var bf16 = Autocast.bf16(cuda)) {
                y = Conv.conv2d(x, w, spec);
                assertEquals(DType.BF16, y.dtype(), "autocast keeps the bf16 output (PyTorch's: activations stored in bf16)");
                Reductions.sum(Elementwise.mul(y, g)).backward(); // mul promotes bf16 × fp32 to fp32
            }
            assertEquals(DType.F32, x.grad().dtype());
            assertEquals(DType.F32, w.grad().dtype(), "fp32 master weight, fp32 gradient");

            // the same by hand: casts around the bf16 primitives
            Tensor xb = bf16(cuda, x), wb = bf16(cuda, w), gb = bf16(cuda, g);
            Tensor yb = Tensor.empty(cuda, DType.BF16, ys), dxb = Tensor.empty(cuda, DType.BF16, xs), dwb = Tensor.empty(cuda, DType.BF16, ws);
            cuda.conv2dForward(xb, wb, yb, spec);
            cuda.conv2dBackwardData(gb, wb, dxb, spec);
            cuda.conv2dBackwardFilter(xb, gb, dwb, spec);
            assertArrayEquals(f32(cuda, yb), f32(cuda, y), "forward");
            assertArrayEquals(f32(cuda, dxb), x.grad().toFloatArray(), "input gradient");
            assertArrayEquals(f32(cuda, dwb), w.grad().toFloatArray(), "weight gradient");

            // and the CPU's fp32 convolution of the rounded operands, within the bf16 tolerance
            Tensor xr = Tensor.of(cpu(), rounded(xv), xs), wr = Tensor.of(cpu(), rounded(wv), ws);
            Tensor yr = Tensor.empty(cpu(), DType.F32, ys);
            cpu().conv2dForward(xr, wr, yr, spec);
            double e = relError(yr.toFloatArray(), f32(cuda, y));
            assertTrue(e <= BF16_PRODUCT, "forward vs the CPU on rounded operands: " + e);
            assertTrue(e > 0, "bf16 output rounding is visible (else the device computed in fp32)");
        }
    }

    @Test
    void linearUnderAutocastIsTheBf16GemmBetweenCasts() {
        CudaBackend cuda = CudaTesting.cuda();
        Rng rng = new Rng(32);
        int n = 9, in = 67, out = 13;
        float[] xv = rng.normal(n * in, 0, 1), wv = rng.normal(out * in, 0, 1), bv = rng.normal(out, 0, 1), gv = rng.normal(n * out, 0, 1);
        try (Scope s = Scope.open("autocast linear")) {
            Tensor x = on(cuda, xv, n, in), w = on(cuda, wv, out, in), b = on(cuda, bv, out), g = Tensor.of(cuda, gv, n, out);
            Tensor y;
            try (var bf16 = Autocast.bf16(cuda)) {
                y = Linear.linear(x, w, b);
                Reductions.sum(Elementwise.mul(y, g)).backward();
            }
            assertEquals(DType.F32, y.dtype());
            Tensor xb = bf16(cuda, x), wb = bf16(cuda, w), gb = bf16(cuda, g);
            Tensor yb = Tensor.empty(cuda, DType.BF16, n, out), dxb = Tensor.empty(cuda, DType.BF16, n, in), dwb = Tensor.empty(cuda, DType.BF16, out, in);
            cuda.matmul(xb, false, wb, true, yb, 1f, 0f);
            cuda.matmul(gb, false, wb, false, dxb, 1f, 0f);
            cuda.matmul(gb, true, xb, false, dwb, 1f, 0f);
            float[] ye = f32(cuda, yb);
            float[] bias = b.toFloatArray();
            for (int r = 0; r < n; r++) for (int c = 0; c < out; c++) ye[r * out + c] += bias[c]; // the bias add is fp32 (addRowVector)
            assertArrayEquals(ye, y.toFloatArray(), "forward");
            assertArrayEquals(f32(cuda, dxb), x.grad().toFloatArray(), "input gradient");
            assertArrayEquals(f32(cuda, dwb), w.grad().toFloatArray(), "weight gradient");
            assertArrayEquals(colSums(gv, n, out), b.grad().toFloatArray(), 1e-5f, "the bias gradient stays fp32 (sum of the fp32 upstream)");
        }
    }

    @Test
    void aBackendConfiguredForBf16AutocastsEveryConvolutionUnlessDisabled() {
        CudaBackend cuda = CudaTesting.cuda();
        ComputeSettings before = cuda.computeSettings(); // this JVM's CUDA context: put it back for later tests
        Rng rng = new Rng(34);
        float[] xv = rng.normal(2 * 3 * 7 * 7, 0, 1), wv = rng.normal(4 * 3 * 9, 0, 1);
        try (Scope s = Scope.open("run-wide bf16")) {
            Tensor x = Tensor.of(cuda, xv, 2, 3, 7, 7), w = Tensor.of(cuda, wv, 4, 3, 3, 3);
            float[] fp32 = Conv.conv2d(x, w, 1, 1, 1).toFloatArray(), byRegion;
            try (var on = Autocast.bf16(cuda)) { byRegion = f32(cuda, Conv.conv2d(x, w, 1, 1, 1)); }
            cuda.configure(new ComputeSettings(Precision.BF16, before.deterministic()));
            assertEquals(Precision.BF16, cuda.computeSettings().precision());
            assertArrayEquals(byRegion, f32(cuda, Conv.conv2d(x, w, 1, 1, 1)), "--precision bf16 is autocast for the whole run");
            try (var off = Autocast.disabled()) {
                assertArrayEquals(fp32, Conv.conv2d(x, w, 1, 1, 1).toFloatArray(), "disabled() turns it off for a region");
            }
            assertFalse(java.util.Arrays.equals(fp32, byRegion), "bf16 differs from fp32 here");
        } finally {
            cuda.configure(before);
        }
        assertEquals(before, cuda.computeSettings());
    }

    @Test
    void theCpuReferenceRefusesBf16AndStaysFp32() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Autocast.bf16(cpu()));
        assertTrue(e.getMessage().startsWith("bf16 autocast needs a CUDA device"), e.getMessage());
        assertFalse(cpu().supportsBf16Compute());
        assertFalse(Autocast.bf16Enabled(), "a refused enable leaves autocast off");
        CudaBackend cuda = CudaTesting.cuda();
        Rng rng = new Rng(33);
        float[] xv = rng.normal(2 * 3 * 7 * 7, 0, 1), wv = rng.normal(4 * 3 * 9, 0, 1);
        try (Scope s = Scope.open("cpu untouched")) {
            float[] plain = Conv.conv2d(Tensor.of(cpu(), xv, 2, 3, 7, 7), Tensor.of(cpu(), wv, 4, 3, 3, 3), 1, 1, 1).toFloatArray();
            float[] under;
            try (var bf16 = Autocast.bf16(cuda)) { // on for this thread: CPU tensors are still computed in fp32
                assertTrue(Autocast.bf16Enabled());
                under = Conv.conv2d(Tensor.of(cpu(), xv, 2, 3, 7, 7), Tensor.of(cpu(), wv, 4, 3, 3, 3), 1, 1, 1).toFloatArray();
                try (var off = Autocast.disabled()) { assertFalse(Autocast.bf16Enabled()); }
                assertTrue(Autocast.bf16Enabled(), "disabled() restores");
            }
            assertFalse(Autocast.bf16Enabled(), "closing restores");
            assertArrayEquals(plain, under, "the CPU reference is bit for bit the same with autocast on");
            Tensor b = Tensor.empty(cpu(), DType.BF16, 3, 3);
            IllegalArgumentException m = assertThrows(IllegalArgumentException.class, () -> cpu().matmul(b, false, b, false, b, 1f, 0f));
            assertTrue(m.getMessage().startsWith("matmul: the CPU backend computes in F32 only"), m.getMessage());
            // and so do the primitives bf16 activations flow through on a device (never a silent misread)
            Tensor a4 = Tensor.empty(cpu(), DType.BF16, 2, 3, 4, 4), p4 = Tensor.empty(cpu(), DType.BF16, 2, 3, 2, 2);
            Tensor c3 = Tensor.zeros(cpu(), 3), am = Tensor.empty(cpu(), DType.I32, 2, 3, 2, 2), y2 = Tensor.empty(cpu(), DType.BF16, 2, 3);
            java.util.Map<String, org.junit.jupiter.api.function.Executable> ops = new java.util.LinkedHashMap<>();
            ops.put("relu", () -> cpu().relu(a4, a4));
            ops.put("reluBackward", () -> cpu().reluBackward(a4, a4, a4));
            ops.put("axpby", () -> cpu().axpby(1f, a4, 1f, a4, a4));
            ops.put("scaleShift", () -> cpu().scaleShift(a4, 2f, 0f, a4));
            ops.put("channelAffine", () -> cpu().channelAffine(a4, c3, c3, a4));
            ops.put("batchNormTrainForward", () -> cpu().batchNormTrainForward(a4, c3, c3, null, null, 0.1f, 1e-5f, a4, c3, c3));
            ops.put("batchNormTrainBackward", () -> cpu().batchNormTrainBackward(a4, a4, c3, c3, c3, a4, c3, c3));
            ops.put("maxPool2dForward", () -> cpu().maxPool2dForward(a4, p4, am, new dvp.engine.spi.PoolSpec(2, 2, 0)));
            ops.put("globalAvgPoolForward", () -> cpu().globalAvgPoolForward(a4, y2));
            ops.put("globalAvgPoolBackward", () -> cpu().globalAvgPoolBackward(y2, a4));
            for (var op : ops.entrySet()) {
                IllegalArgumentException r = assertThrows(IllegalArgumentException.class, op.getValue(), op.getKey());
                assertTrue(r.getMessage().startsWith(op.getKey() + ": the CPU backend computes in F32 only"), r.getMessage());
            }
        }
    }

    @Test
    void deviceBf16PrimitivesNameBothTensorsWhenTheElementTypesDiffer() {
        CudaBackend cuda = CudaTesting.cuda();
        try (Scope s = Scope.open("mixed dtypes")) {
            Tensor b = Casts.to(Tensor.zeros(cuda, 2, 3), DType.BF16), f = Tensor.zeros(cuda, 2, 3), o = Tensor.empty(cuda, DType.BF16, 2, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cuda.axpby(1f, b, 1f, f, o));
            assertTrue(e.getMessage().startsWith("axpby: the CUDA backend needs these tensors all F32 or all BF16"), e.getMessage());
            assertTrue(e.getMessage().contains(b.describe()) && e.getMessage().contains(f.describe()), e.getMessage());
        }
    }

    private static Tensor bf16(Backend be, Tensor t) {
        Tensor b = Tensor.empty(be, DType.BF16, t.shape());
        be.cast(t, b);
        return b;
    }

    /** The values of an F32 or BF16 tensor (BF16 widened exactly). */
    private static float[] f32(Backend be, Tensor b) {
        if (b.dtype() == DType.F32) return b.toFloatArray();
        Tensor f = Tensor.empty(be, DType.F32, b.shape());
        be.cast(b, f);
        return f.toFloatArray();
    }

    private static float[] colSums(float[] g, int rows, int cols) {
        float[] o = new float[cols];
        for (int c = 0; c < cols; c++) {
            double acc = 0;
            for (int r = 0; r < rows; r++) acc += g[r * cols + c];
            o[c] = (float) acc;
        }
        return o;
    }
}
