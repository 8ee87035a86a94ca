package dvp.engine.testing;

import dvp.engine.cuda.CudaBackend;
import dvp.engine.spi.Availability;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA backend for tests that need one: the simulated device in the test JVMs (DVP_CUDA_SIM=1
 * from the build), a real one on a GPU machine. Where CI requires the simulator
 * (DVP_REQUIRE_CUDA_SIM=1) an unavailable backend fails the test with its reason instead of
 * skipping it.
 */
public final class CudaTesting {
    private CudaTesting() {}

    public static CudaBackend cuda() {
        Backend b = Backends.all().stream().filter(x -> x.name().equals("cuda")).findFirst()
                .orElseThrow(() -> new AssertionError("CudaBackend is not registered in META-INF/services"));
        Availability av = b.availability();
        if ("1".equals(System.getenv("DVP_REQUIRE_CUDA_SIM")))
            assertTrue(av.available(), "DVP_REQUIRE_CUDA_SIM=1 but the CUDA backend is unavailable: " + av.reason());
        assumeTrue(av.available(), () -> "no CUDA device (" + av.reason() + ")");
        return (CudaBackend) b;
    }
}
