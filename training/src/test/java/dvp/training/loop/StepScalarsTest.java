package dvp.training.loop;

import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backends;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StepScalarsTest {
    @Test void meansWeighEachStepByItsImages() {
        try (Scope s = Scope.open("scalars")) {
            StepScalars sc = new StepScalars(Backends.cpu(), 4, "loss", "acc");
            sc.record(1, 16, Tensor.scalar(Backends.cpu(), 2f), Tensor.scalar(Backends.cpu(), 0.5f));
            sc.record(2, 16, Tensor.scalar(Backends.cpu(), 4f), Tensor.scalar(Backends.cpu(), 0.25f));
            sc.record(3, 8, Tensor.scalar(Backends.cpu(), 1f), Tensor.scalar(Backends.cpu(), 1f));
            StepScalars.Drained d = sc.drain();
            assertArrayEquals(new long[]{1, 2, 3}, d.steps());
            assertArrayEquals(new int[]{16, 16, 8}, d.weights());
            assertEquals((16 * 2 + 16 * 4 + 8 * 1) / 40.0, d.mean(0), 1e-12);
            assertEquals((16 * 0.5 + 16 * 0.25 + 8 * 1) / 40.0, d.mean(1), 1e-12);
            assertEquals(0, sc.size(), "drain empties the buffer");
            assertTrue(Double.isNaN(sc.drain().mean(0)), "no steps: no mean");
            var e = assertThrows(IllegalArgumentException.class, () -> sc.record(4, 0, Tensor.scalar(Backends.cpu(), 1f), Tensor.scalar(Backends.cpu(), 1f)));
            assertTrue(e.getMessage().contains("weight 0"), e.getMessage());
        }
    }
}
