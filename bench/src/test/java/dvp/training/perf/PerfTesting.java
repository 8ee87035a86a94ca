package dvp.training.perf;

import dvp.engine.spi.Availability;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.training.run.Json;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Shared by the perf tests: a ceilings cache with made-up numbers (measuring takes seconds). */
final class PerfTesting {
    private PerfTesting() {}

    static final double COPY = 10, GEMM = 100;

    static Path fakeCeilings(Path dir, Backend backend) throws IOException {
        RunEnvironment.DeviceInfo d = RunEnvironment.of(backend).device();
        String key = Ceilings.keyOf(d);
        Path f = dir.resolve("ceilings.json");
        Json.writeFile(f, Map.of(key, new Ceilings(key, d.name(), d.backend(), COPY, GEMM, 1024, Ceilings.COPY_BYTES,
                "2026-01-01T00:00:00Z", "test", "made up for tests")));
        return f;
    }

    /**
     * The CUDA backend: in the test JVMs the simulator (the build sets DVP_CUDA_SIM=1). Where the
     * simulator is built (CI: DVP_REQUIRE_CUDA_SIM=1) an unavailable backend fails the test;
     * elsewhere (no nvcc, so no simulator) the test skips with the reason.
     */
    static Backend cuda() {
        Backend cuda = Backends.all().stream().filter(b -> b.name().equals("cuda")).findFirst()
                .orElseThrow(() -> new AssertionError("no CUDA backend on the class path"));
        Availability av = cuda.availability();
        if ("1".equals(System.getenv("DVP_REQUIRE_CUDA_SIM")))
            assertTrue(av.available(), "DVP_REQUIRE_CUDA_SIM=1 but the CUDA backend is unavailable: " + av.reason());
        assumeTrue(av.available(), () -> "CUDA unavailable (is the simulator built? kernels/sim/build-sim.sh): " + av.reason());
        return cuda;
    }

    /** {@link #cuda()} when it is the simulator (a test JVM run with -Ddvp.test.cudaSim=0 on a GPU machine has the real device). */
    static Backend simulatedCuda() {
        Backend cuda = cuda();
        assumeTrue(cuda.simulated(), "the CUDA device here is real, not simulated (-Ddvp.test.cudaSim=0)");
        return cuda;
    }

    /** A ResNet-18 small enough for unit tests: width 1/4, 32 px, batch 2. */
    static ScenarioOptions tinyResNet() {
        return ScenarioOptions.defaults().withBatch(2).withResolution(32).withWidth(0.25);
    }
}
