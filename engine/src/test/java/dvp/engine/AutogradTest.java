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
        }
    }
}
