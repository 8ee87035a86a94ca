package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.MemoryFormat;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.spi.Backend;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The ops on bf16 activations (bf16 autocast's storage) on the (simulated) device, each against the
 * same op in F32 on the exactly widened values, where the bf16 result must be the F32 result
 * rounded once (bitwise): autograd's accumulation of a BF16 activation used twice, eval-mode batch
 * norm forward and backward (its parameter gradients are fp32 sums over exact F32 copies), and the
 * promotion of a BF16 and an F32 operand to F32 (PyTorch's rule), gradients in each input's dtype.
 */
class Bf16ActivationOpsTest {
    /** F32 → BF16 (round to nearest even) → F32 values: what a BF16 tensor of these values holds. */
    private static Tensor bf16(Backend be, Tensor f32) { return Casts.to(f32, DType.BF16).detach(); }

    private static float[] values(Tensor t) {
        if (t.dtype() == DType.F32) return t.toFloatArray();
        Tensor f = Tensor.empty(t.backend(), DType.F32, Layouts.of(t), t.shape());
        t.backend().cast(t.inFormat(Layouts.of(t)), f);
        return f.toFloatArray();
    }

    /** v rounded once to bf16 (the reference cast). */
    private static float[] rounded(float[] v) {
        float[] o = new float[v.length];
        for (int i = 0; i < v.length; i++) o[i] = dvp.engine.Bf16.round(v[i]);
        return o;
    }

    @Test
    void aBf16ActivationUsedTwiceGetsTheFp32SumOfItsGradientsRoundedOnce() {
        CudaBackend cuda = CudaTesting.cuda();
        Rng rng = new Rng(41);
        try (Scope s = Scope.open("bf16 accumulation")) {
            Tensor w = Tensor.of(cuda, rng.normal(3 * 5 * 7 * 9, 0, 1), 3, 5, 7, 9).requiresGrad(true);
            Tensor h = Casts.to(w, DType.BF16); // a bf16 activation (non-leaf)
            Tensor a = Elementwise.relu(h), b = Elementwise.scale(h, 0.3f);
            Tensor up1 = bf16(cuda, Tensor.of(cuda, rng.normal(3 * 5 * 7 * 9, 0, 1), 3, 5, 7, 9));
            Tensor up2 = bf16(cuda, Tensor.of(cuda, rng.normal(3 * 5 * 7 * 9, 0, 1), 3, 5, 7, 9));
            // sum(a * up1 + b * up2) through the fp32 list: the gradients reaching h are bf16 (the casts' backward)
            Tensor loss = Reductions.sum(Elementwise.add(Elementwise.mul(Casts.to(a, DType.F32), Casts.to(up1, DType.F32)),
                    Elementwise.mul(Casts.to(b, DType.F32), Casts.to(up2, DType.F32))));
            loss.backward();
            // by hand: dh = bf16(relu'(h)·up1) and bf16(0.3·up2), added in fp32 and rounded once; then cast to F32
            float[] hv = values(h), u1 = values(up1), u2 = values(up2), expect = new float[hv.length];
            for (int i = 0; i < hv.length; i++) {
                float ga = hv[i] > 0 ? u1[i] : 0f, gb = dvp.engine.Bf16.round(u2[i] * 0.3f);
                expect[i] = dvp.engine.Bf16.round(ga + gb);
            }
            assertEquals(DType.F32, w.grad().dtype());
            assertArrayEquals(expect, w.grad().toFloatArray(), "the two bf16 gradients added in fp32, rounded once");
        }
    }

    @Test
    void evalBatchNormOnBf16IsTheF32OpRoundedOnceAndItsParameterGradientsAreFp32Sums() {
        CudaBackend cuda = CudaTesting.cuda();
        Rng rng = new Rng(42);
        int[] xs = {3, 5, 7, 9};
        for (MemoryFormat f : MemoryFormat.values()) {
            try (Scope s = Scope.open("bf16 eval bn")) {
                Tensor x32 = Tensor.of(cuda, rounded(rng.normal(3 * 5 * 7 * 9, 0, 1)), xs).inFormat(f).requiresGrad(true);
                Tensor xb = bf16(cuda, x32).requiresGrad(true);
                Tensor g32 = Tensor.of(cuda, rounded(rng.normal(3 * 5 * 7 * 9, 0, 1)), xs).inFormat(f);
                Tensor gamma = Tensor.of(cuda, rng.normal(5, 1, 0.2), 5).requiresGrad(true), beta = Tensor.of(cuda, rng.normal(5, 0, 1), 5).requiresGrad(true);
                Tensor rm = Tensor.of(cuda, rng.normal(5, 0, 1), 5), rv = Tensor.of(cuda, rng.normal(5, 2, 0.3), 5);
                Tensor y32 = Norm.batchNormEval(x32, gamma, beta, rm, rv, 1e-5f);
                Reductions.sum(Elementwise.mul(y32, g32)).backward();
                float[] dg32 = gamma.grad().toFloatArray(), db32 = beta.grad().toFloatArray(), dx32 = x32.grad().toFloatArray();
                gamma.setGrad(null);
                beta.setGrad(null);
                Tensor yb = Norm.batchNormEval(xb, gamma, beta, rm, rv, 1e-5f);
                assertEquals(DType.BF16, yb.dtype());
                assertEquals(f, yb.memoryFormat(), "the layout is kept");
                assertArrayEquals(rounded(y32.toFloatArray()), values(yb), f + ": y = the F32 result rounded once");
                // the upstream gradient reaching yb: g32's values as bf16 (exact; mul promotes yb, the cast's backward rounds)
                Reductions.sum(Elementwise.mul(yb, g32)).backward();
                assertArrayEquals(rounded(dx32), values(xb.grad()), f + ": dx = the F32 result rounded once");
                assertArrayEquals(dg32, gamma.grad().toFloatArray(), f + ": dgamma, an fp32 sum over the exact values");
                assertArrayEquals(db32, beta.grad().toFloatArray(), f + ": dbeta");
            }
        }
    }

    @Test
    void aBf16AndAnF32OperandPromoteToF32WithGradientsInEachInputsDtype() {
        CudaBackend cuda = CudaTesting.cuda();
        Rng rng = new Rng(43);
        try (Scope s = Scope.open("promotion")) {
            Tensor f = Tensor.of(cuda, rng.normal(37, 0, 1), 37).requiresGrad(true);
            Tensor b = bf16(cuda, Tensor.of(cuda, rng.normal(37, 0, 1), 37)).requiresGrad(true);
            Tensor sum = Elementwise.add(b, f);
            assertEquals(DType.F32, sum.dtype(), "bf16 + fp32 = fp32");
            float[] bv = values(b), fv = f.toFloatArray(), expect = new float[37];
            for (int i = 0; i < 37; i++) expect[i] = bv[i] + fv[i];
            assertArrayEquals(expect, sum.toFloatArray(), "the exact widening, then the fp32 add");
            Reductions.sum(Elementwise.scale(sum, 0.5f)).backward();
            assertEquals(DType.BF16, b.grad().dtype(), "a BF16 leaf's gradient is BF16");
            assertEquals(DType.F32, f.grad().dtype());
            float[] half = new float[37];
            java.util.Arrays.fill(half, 0.5f);
            assertArrayEquals(half, values(b.grad()));
            assertArrayEquals(half, f.grad().toFloatArray());
        }
    }
}
