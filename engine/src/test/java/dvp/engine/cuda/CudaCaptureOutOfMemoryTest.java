package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backends;
import dvp.engine.testing.ChildJvm;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Out of device memory while a CUDA graph is being captured: the allocator must not release its
 * cache (that synchronises the stream, which is illegal during a capture: the driver invalidates
 * the capture and the failure would read as a capture error), so the caller gets the
 * out-of-memory exception itself, the capture is ended cleanly, and the backend works afterwards.
 * Runs in a child JVM whose simulated device has 64 MiB (DVP_SIM_DEVICE_MEMORY).
 */
class CudaCaptureOutOfMemoryTest {
    public static final class Probe {
        public static void main(String[] args) {
            CudaBackend cuda = (CudaBackend) Backends.get("cuda");
            System.out.println("device " + cuda.availability().reason());
            int n = 4 << 20; // 16 MiB
            try (Scope s = Scope.open("probe")) {
                Tensor cached = Tensor.empty(cuda, DType.F32, n);
                cached.storage().free(); // 16 MiB stays reserved in the cache
                Tensor x = Tensor.of(cuda, new float[]{-1, 2, -3, 4}, 4), y = Tensor.empty(cuda, DType.F32, 4);
                try {
                    cuda.captureGraph(() -> {
                        Tensor big = Tensor.empty(cuda, DType.F32, 5 << 20); // 20 MiB: more than the device has free
                        cuda.relu(x, big.narrow0(0, 4));
                    });
                    System.out.println("CAPTURE no exception");
                } catch (RuntimeException e) {
                    System.out.println("CAPTURE " + e.getClass().getName() + ": " + e.getMessage());
                }
                // the backend works on: a capture and replay, and the same allocation outside a capture
                try (CudaGraph g = cuda.captureGraph(() -> cuda.relu(x, y))) {
                    g.replay();
                    System.out.println("AFTER " + java.util.Arrays.toString(y.toFloatArray()));
                }
                Tensor big = Tensor.empty(cuda, DType.F32, 5 << 20);
                cuda.fill(big, 1.5);
                System.out.println("EAGER " + big.narrow0((5 << 20) - 1, 1).item());
            } catch (RuntimeException e) {
                System.out.println("FAILED " + e);
            }
        }
    }

    @Test
    void outOfMemoryDuringACaptureIsReportedAsSuchAndTheBackendWorksOn() throws Exception {
        CudaTesting.cuda();
        org.junit.jupiter.api.Assumptions.assumeTrue(CudaSimulator.loaded(), "needs the simulator's configurable device memory");
        ChildJvm.Result r = ChildJvm.run(Map.of("DVP_SIM_DEVICE_MEMORY", "64M"), List.of(), Probe.class);
        String out = r.output();
        assertEquals(0, r.exit(), out);
        String capture = out.lines().filter(l -> l.startsWith("CAPTURE ")).findFirst().orElse(out);
        assertTrue(capture.startsWith("CAPTURE dvp.engine.cuda.CudaOutOfMemoryException: CUDA out of memory. Tried to allocate 20.00 MiB"),
                "the capture's failure is the out-of-memory itself:\n" + out);
        assertTrue(capture.contains("during a CUDA graph capture") && capture.contains("emptyCache() before capturing"), capture);
        assertTrue(out.contains("AFTER [0.0, 2.0, 0.0, 4.0]"), "a capture after the failed one works:\n" + out);
        assertTrue(out.contains("EAGER 1.5"), "outside a capture the cache is released and the allocation succeeds:\n" + out);
    }
}
