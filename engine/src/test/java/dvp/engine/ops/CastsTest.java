package dvp.engine.ops;

import dvp.engine.Bf16;
import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import org.junit.jupiter.api.Test;

import static dvp.engine.testing.Tensors.cpu;
import static dvp.engine.testing.Tensors.param;
import static dvp.engine.testing.Tensors.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Casts#to} on the CPU reference. The cast's derivative is a rule, not a limit (rounding is
 * piecewise constant, so finite differences see 0 or a jump): its backward casts the upstream
 * gradient to the input's dtype, as PyTorch's to(dtype) backward does. Checked exactly here; the
 * device's casts are tied to these bit for bit by the parity suite.
 */
class CastsTest {
    @Test
    void forwardRoundsAndBackwardCastsTheGradientBack() {
        try (Scope s = Scope.open("casts")) {
            Rng rng = new Rng(5);
            Tensor x = param(randn(rng, 7, 13));
            Tensor c = randn(rng, 7, 13);
            Tensor b = Casts.to(x, DType.BF16);
            assertEquals(DType.BF16, b.dtype());
            Tensor back = Casts.to(b, DType.F32);
            float[] xv = x.toFloatArray(), bv = back.toFloatArray();
            for (int i = 0; i < xv.length; i++) assertEquals(Bf16.round(xv[i]), bv[i], "forward: x rounded to bf16 at " + i);
            Reductions.sum(Elementwise.mul(back, c)).backward();
            // d/dx = c through to(F32)'s backward (c cast to bf16) and to(BF16)'s (exact widening)
            float[] cv = c.toFloatArray(), g = x.grad().toFloatArray();
            assertEquals(DType.F32, x.grad().dtype(), "the fp32 leaf gets an fp32 gradient");
            for (int i = 0; i < g.length; i++) assertEquals(Bf16.round(cv[i]), g[i], "gradient at " + i);
        }
    }

    @Test
    void sameDTypeIsTheTensorItselfAndOnlyF32AndBf16Convert() {
        try (Scope s = Scope.open("casts")) {
            Tensor x = Tensor.of(cpu(), new float[]{1, 2, 3}, 3);
            assertSame(x, Casts.to(x, DType.F32));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Casts.to(x, DType.I64));
            assertTrue(e.getMessage().startsWith("cast: converts F32 to BF16 or BF16 to F32"), e.getMessage());
            assertTrue(e.getMessage().contains("I64"), e.getMessage());
        }
    }

    @Test
    void aStridedInputIsMadeContiguousFirst() {
        try (Scope s = Scope.open("casts")) {
            Tensor x = randn(new Rng(6), 5, 3);
            Tensor t = Casts.to(Views.permute(x, 1, 0), DType.BF16);
            float[] xv = x.toFloatArray(), tv = Casts.to(t, DType.F32).toFloatArray();
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 5; c++) assertEquals(Bf16.round(xv[c * 3 + r]), tv[r * 5 + c], "[" + r + "," + c + "]");
        }
    }
}
