package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Views#gatherRows}'s failures, each naming the op: an index outside [0, rows) (on the CPU at
 * once; on CUDA at the next synchronisation, through the device error word, after which the
 * backend works again), wrong dtypes, and an input that needs a gradient (the op has no backward).
 */
class GatherRowsErrorsTest {
    private static Tensor x(Backend be) { return Tensor.of(be, new float[]{1, 2, 3, 4, 5, 6}, 3, 2); }

    @Test
    void anIndexOutsideTheRowsIsAnErrorNamingTheRowOnTheCpu() {
        try (Scope s = Scope.open("cpu gather")) {
            Backend cpu = Backends.cpu();
            var e = assertThrows(IllegalArgumentException.class, () -> Views.gatherRows(x(cpu), Tensor.ofLongs(cpu, new long[]{0, 3}, 2)));
            assertTrue(e.getMessage().startsWith("gatherRows: index 3 at row 1 is outside [0, 3)"), e.getMessage());
        }
    }

    @Test
    void anIndexOutsideTheRowsIsReportedAtTheNextSyncOnCuda() {
        CudaBackend cuda = CudaTesting.cuda();
        try (Scope s = Scope.open("cuda gather")) {
            Views.gatherRows(x(cuda), Tensor.ofLongs(cuda, new long[]{-1, 0}, 2));
            var e = assertThrows(IllegalArgumentException.class, cuda::synchronize);
            assertTrue(e.getMessage().startsWith("gatherRows: the index of output row 0 is outside [0, rows of x)"), e.getMessage());
            // the error word was cleared: the next gather works
            Tensor ok = Views.gatherRows(x(cuda), Tensor.ofLongs(cuda, new long[]{2, 0}, 2));
            assertArrayEquals(new float[]{5, 6, 1, 2}, ok.toFloatArray());
        }
    }

    @Test
    void badDtypesAndGradientsAreRefusedByName() {
        try (Scope s = Scope.open("gather checks")) {
            Backend cpu = Backends.cpu();
            var idx = Tensor.ofLongs(cpu, new long[]{0}, 1);
            var notLong = Tensor.of(cpu, new float[]{0}, 1);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> Views.gatherRows(x(cpu), notLong)).getMessage().contains("gatherRows"));
            Tensor w = x(cpu).requiresGrad(true);
            var e = assertThrows(IllegalArgumentException.class, () -> Views.gatherRows(w, idx));
            assertTrue(e.getMessage().contains("gatherRows has no backward"), e.getMessage());
            try (var ng = GradMode.noGrad()) {
                assertArrayEquals(new float[]{1, 2}, Views.gatherRows(w, idx).toFloatArray(), "under no-grad it gathers");
            }
            assertTrue(Views.gatherRows(x(cpu), idx).dtype() == DType.F32);
        }
    }
}
