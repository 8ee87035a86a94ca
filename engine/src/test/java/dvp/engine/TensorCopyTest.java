package dvp.engine;

import org.junit.jupiter.api.Test;

import static dvp.engine.testing.Tensors.cpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorCopyTest {
    @Test void copyFromFillsAContiguousViewInPlace() {
        try (Scope s = Scope.open()) {
            Tensor dst = Tensor.zeros(cpu(), 3, 2);
            dst.narrow0(1, 1).copyFrom(Tensor.of(cpu(), new float[]{7, 8}, 1, 2));
            assertArrayEquals(new float[]{0, 0, 7, 8, 0, 0}, dst.toFloatArray());
        }
    }

    /** Backends write a copy's destination in memory order, so a strided destination would get the values in the wrong places. */
    @Test void copyFromIntoAStridedViewIsAnError() {
        try (Scope s = Scope.open()) {
            Tensor dst = Tensor.zeros(cpu(), 3, 2).permute(1, 0);
            Tensor src = Tensor.of(cpu(), new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dst.copyFrom(src));
            assertTrue(e.getMessage().startsWith("copyFrom: destination F32[2, 3] on cpu is not contiguous"), e.getMessage());
        }
    }
}
