package dvp.training.perf;

import dvp.engine.Scope;
import dvp.engine.profile.Profiler;
import dvp.engine.profile.ProfilingBackend;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Profiling never changes results: each scenario run for two steps on the plain CPU backend and,
 * from the same seed, on the profiling decorator with a profiler recording (and NVTX requested)
 * ends with bit-identical losses, parameters, buffers and gradients.
 */
class ScenarioBitIdentityTest {
    static Stream<Object[]> scenarios() {
        ScenarioOptions tiny = PerfTesting.tinyResNet();
        return Stream.of(
                new Object[]{"resnet18-train", tiny},
                new Object[]{"moco-step", new ScenarioOptions(4, 32, 0.125, "resnet18", 16, null, null, 3)},
                new Object[]{"distill-step", new ScenarioOptions(2, 32, 0.125, "resnet18", null, null, 10, 4)},
                new Object[]{"margin-infonce", new ScenarioOptions(6, null, null, null, 64, null, null, 5)},
                new Object[]{"ofd-loss", new ScenarioOptions(2, 32, null, null, null, null, null, 6)},
                new Object[]{"gemm", new ScenarioOptions(null, null, null, null, null, "17,9,33", null, 7)});
    }

    static Map<String, float[]> twoSteps(String name, Backend be, ScenarioOptions o, boolean profile) {
        try (Scope s = Scope.open(); Scenario sc = Scenarios.create(name, be, o)) {
            Profiler p = profile ? ((ProfilingBackend) be).start(new Profiler.Options(true, true)) : null;
            for (int i = 0; i < 2; i++) {
                if (p != null) p.stepBegin(i);
                sc.step();
                if (p != null) p.stepEnd();
            }
            if (p != null) {
                assertFalse(p.events().isEmpty(), name + ": nothing recorded");
                p.close();
            }
            return sc.fingerprint();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void profilingDoesNotChangeABit(String name, ScenarioOptions o) {
        Map<String, float[]> plain = twoSteps(name, Backends.cpu(), o, false);
        Map<String, float[]> profiled = twoSteps(name, ProfilingBackend.wrap(Backends.cpu()), o, true);
        assertFalse(plain.isEmpty(), name + ": empty fingerprint");
        assertEquals(plain.keySet(), profiled.keySet());
        for (var e : plain.entrySet()) assertArrayEquals(e.getValue(), profiled.get(e.getKey()), name + ": " + e.getKey() + " differs");
        if (plain.containsKey("loss")) assertTrue(Float.isFinite(plain.get("loss")[0]), name + ": loss " + plain.get("loss")[0]);
    }
}
