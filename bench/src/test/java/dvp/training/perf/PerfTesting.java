package dvp.training.perf;

import dvp.engine.spi.Backend;
import dvp.training.run.Json;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

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

    /** A ResNet-18 small enough for unit tests: width 1/4, 32 px, batch 2. */
    static ScenarioOptions tinyResNet() {
        return ScenarioOptions.defaults().withBatch(2).withResolution(32).withWidth(0.25);
    }
}
