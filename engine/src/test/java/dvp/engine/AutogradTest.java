package dvp.engine;

import dvp.engine.autograd.GradMode;
import dvp.engine.cpu.CpuMemoryStats;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Linear;
import dvp.engine.ops.Reductions;
import org.junit.jupiter.api.Test;

import static dvp.engine.testing.Tensors.cpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AutogradTest {
    @Test void gradientsAccumulateAcrossBackwardCalls() {
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.of(cpu(), new float[]{1, 2, 3}, 3).requiresGrad(true);
            for (int i = 0; i < 2; i++) {
                try (Scope step = Scope.open("step")) {
                    // d/dw sum(2w) = 2 per call
                    Reductions.sum(Elementwise.scale(w, 2f)).backward();
                }
            }
            assertArrayEquals(new float[]{4, 4, 4}, w.grad().toFloatArray());
            assertFalse(w.grad().isFreed(), "a leaf's gradient lives in the leaf's scope, not the step's");
        }
    }

    @Test void noGradRecordsNothingAndDetachCutsTheGraph() {
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.of(cpu(), new float[]{1, 2}, 2).requiresGrad(true);
            try (var g = GradMode.noGrad()) {
                Tensor y = Elementwise.scale(w, 3f);
                assertFalse(y.requiresGrad());
                assertNull(y.gradFn());
            }
            assertTrue(GradMode.isEnabled());
            Tensor d = w.detach();
            assertFalse(d.requiresGrad());
            Tensor loss = Reductions.sum(Elementwise.add(Elementwise.mul(w, w), d));
            loss.backward();
            assertArrayEquals(new float[]{2, 4}, w.grad().toFloatArray(), "only the w*w path carries a gradient");
        }
    }

    @Test void backwardNeedsAScalarThatRequiresGrad() {
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.of(cpu(), new float[]{1, 2}, 2).requiresGrad(true);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Elementwise.scale(w, 2f).backward());
            assertTrue(e.getMessage().contains("scalar"), e.getMessage());
            Tensor c = Tensor.of(cpu(), new float[]{1}, 1);
            e = assertThrows(IllegalStateException.class, c::backward);
            assertTrue(e.getMessage().contains("does not require grad"), e.getMessage());
        }
    }

    @Test void aGraphCanBeDifferentiatedOnlyOnce() {
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.of(cpu(), new float[]{1, 2}, 2).requiresGrad(true);
            Tensor loss = Reductions.sum(Elementwise.mul(w, w));
            loss.backward();
            IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
            assertTrue(e.getMessage().contains("already ran"), e.getMessage());
        }
    }

    @Test void intermediateGradientsAreFreedDuringBackward() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(cpu(), new Rng(1).normal(64 * 64, 0, 1), 64, 64).requiresGrad(true);
            Tensor w = Tensor.of(cpu(), new Rng(2).normal(64 * 64, 0, 1), 64, 64).requiresGrad(true);
            try (Scope step = Scope.open("step")) {
                Tensor h = x;
                for (int i = 0; i < 6; i++) h = Elementwise.relu(Linear.matmul(h, w));
                Tensor loss = Reductions.mean(h);
                int ownedBefore = step.ownedCount();
                long liveBefore = CpuMemoryStats.liveStorages();
                loss.backward();
                // every intermediate gradient is freed after use; only 2 leaf grads (outer scope) remain new
                assertEquals(liveBefore + 2, CpuMemoryStats.liveStorages());
                assertTrue(step.ownedCount() > ownedBefore, "backward's temporaries were allocated in the step scope");
            }
            assertEquals(2, x.grad().rank());
        }
    }

    @Test void shapeErrorsNameTheOpAndBothShapes() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.zeros(cpu(), 2, 3), b = Tensor.zeros(cpu(), 3, 2);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Elementwise.add(a, b));
            assertEquals("add: shapes must match, got [2, 3] and [3, 2]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Linear.matmul(a, a));
            assertTrue(e.getMessage().startsWith("matmul: inner dimensions differ: [2, 3] @ [2, 3]"), e.getMessage());
            Tensor x = Tensor.zeros(cpu(), 1, 4, 5, 5), w = Tensor.zeros(cpu(), 8, 3, 3, 3);
            e = assertThrows(IllegalArgumentException.class, () -> dvp.engine.ops.Conv.conv2d(x, w, 1, 1, 1));
            assertTrue(e.getMessage().startsWith("conv2d: input [1, 4, 5, 5] and weight [8, 3, 3, 3]"), e.getMessage());
            // 4 + 2*0 - 5 = -1: PyTorch refuses it; truncating -1/2 to 0 would have made a 1x1 output
            Tensor small = Tensor.zeros(cpu(), 1, 3, 4, 4), wide = Tensor.zeros(cpu(), 2, 3, 5, 5);
            e = assertThrows(IllegalArgumentException.class, () -> dvp.engine.ops.Conv.conv2d(small, wide, 2, 0, 1));
            assertEquals("conv2d: input [1, 3, 4, 4] is smaller than kernel [2, 3, 5, 5] with padding 0x0", e.getMessage());
        }
    }

    /**
     * A rule may return a view of its upstream gradient, and a view may be strided (a transpose).
     * Such a gradient must be accumulated element for element, not in memory order: here x is used
     * twice through a transpose whose rule returns {@code g.permute(1, 0)}, so the second
     * contribution meets the first in the leaf's += and the third in a non-leaf's sum.
     */
    @Test void stridedGradientViewsAccumulateByElement() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(cpu(), new float[]{1, 2, 3, 4, 5, 6}, 2, 3).requiresGrad(true);
            float[] w1 = {1, 2, 3, 4, 5, 6}, w2 = {10, 20, 30, 40, 50, 60};
            Tensor a = Tensor.of(cpu(), w1, 3, 2), b = Tensor.of(cpu(), w2, 3, 2);
            // loss = sum(T(x) * a) + sum(T(x) * b) + sum(T(h) * a) with h = 1 * x (a non-leaf)
            Tensor h = Elementwise.scale(x, 1f);
            Tensor loss = Reductions.sum(Elementwise.add(
                    Elementwise.add(Elementwise.mul(transpose(x), a), Elementwise.mul(transpose(x), b)),
                    Elementwise.add(Elementwise.mul(transpose(h), a), Elementwise.mul(transpose(h), a))));
            loss.backward();
            // d/dx = a^T + b^T + 2 a^T, with a^T[i][j] = a[j][i]
            float[] expect = new float[6];
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++) expect[i * 3 + j] = 3 * w1[j * 2 + i] + w2[j * 2 + i];
            assertArrayEquals(expect, x.grad().toFloatArray());
        }
    }

    /** [r, c] -> [c, r] whose backward returns a strided view of the upstream gradient. */
    private static Tensor transpose(Tensor t) {
        Tensor out = t.permute(1, 0).copyContiguous();
        return dvp.engine.autograd.Autograd.record("transpose", out, g -> new Tensor[]{g.permute(1, 0)}, t);
    }
}
