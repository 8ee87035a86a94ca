package dvp.engine;

import dvp.engine.parity.ParityChecks;
import dvp.engine.parity.ParityResult;
import dvp.engine.spi.Availability;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One parity suite over all backends: every primitive of every non-reference backend on the class
 * path (available or not) against the CPU reference, forward and backward, on fresh random
 * odd-sized inputs with the outputs poisoned first (see {@link ParityChecks}). A backend that cannot
 * run here reports each case as skipped with its reason, e.g. "no CUDA device (no NVIDIA driver:
 * libcuda.so.1 was not found ...)".
 */
class BackendParityTest {
    private static final long SEED = 20200814L;

    @TestFactory
    Stream<DynamicTest> everyPrimitiveMatchesTheCpuReference() {
        Backend cpu = Backends.cpu();
        List<DynamicTest> tests = new ArrayList<>();
        for (Backend b : Backends.all()) {
            if (b.name().equals("cpu")) continue;
            for (ParityChecks.Check check : ParityChecks.all()) {
                tests.add(DynamicTest.dynamicTest(b.name() + ": " + check.op() + " " + check.shape(), () -> {
                    Availability av = b.availability();
                    // CI builds the CUDA simulator: there a CUDA case that cannot run is a failure, not a skip
                    if (b.name().equals("cuda") && "1".equals(System.getenv("DVP_REQUIRE_CUDA_SIM")))
                        assertTrue(av.available(), "DVP_REQUIRE_CUDA_SIM=1 but the CUDA backend is unavailable: " + av.reason());
                    assumeTrue(av.available(), () -> "no " + b.name().toUpperCase() + " device (" + av.reason() + ")");
                    List<ParityResult> results = ParityChecks.run(check, cpu, b, SEED);
                    assertFalse(results.isEmpty(), "check compared nothing");
                    StringBuilder failures = new StringBuilder();
                    for (ParityResult r : results) if (!r.pass()) failures.append('\n').append(r.row());
                    assertTrue(failures.isEmpty(), "parity failures:" + failures);
                }));
            }
        }
        return tests.stream();
    }

    /**
     * The harness itself, on the CPU against itself: every check runs, compares at least one output,
     * and (the CPU being deterministic) finds zero error. Keeps the checks' shapes and argument
     * order honest in CI, where no GPU is present.
     */
    @TestFactory
    Stream<DynamicTest> harnessRunsEveryCheckOnTheCpuAgainstItself() {
        Backend cpu = Backends.cpu();
        return ParityChecks.all().stream().map(check -> DynamicTest.dynamicTest("cpu vs cpu: " + check.op() + " " + check.shape(), () -> {
            List<ParityResult> results = ParityChecks.run(check, cpu, cpu, SEED);
            assertFalse(results.isEmpty(), "check compared nothing");
            for (ParityResult r : results) {
                assertTrue(r.pass() && r.maxRelError() == 0, "cpu vs cpu differs: " + r.row());
            }
        }));
    }
}
