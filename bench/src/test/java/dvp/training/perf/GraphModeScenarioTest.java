package dvp.training.perf;

import dvp.engine.Scope;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.profile.Profiler;
import dvp.engine.profile.ProfilingBackend;
import dvp.engine.spi.Backends;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code dvp bench --cuda-graph}: the training scenarios on the simulated CUDA device behind the
 * profiling wrapper, as {@link BenchRun} builds them, five runs each (two op by op, the capture,
 * two replays; MoCo with a new key permutation every run), end bit-identical to the same runs op by
 * op; the settings say which mode ran; and a run while a profiler records (BenchRun's FLOP and byte
 * count) is op by op, so it sees the step's primitives, not one replay.
 */
class GraphModeScenarioTest {
    static Stream<Object[]> scenarios() {
        return Stream.of(
                new Object[]{"resnet18-train", PerfTesting.tinyResNet()},
                new Object[]{"moco-step", new ScenarioOptions(4, 32, 0.125, "resnet18", 16, null, null, 3)},
                new Object[]{"distill-step", new ScenarioOptions(2, 32, 0.125, "resnet18", null, null, 10, 4)});
    }

    private record Ran(Map<String, float[]> fingerprint, Map<String, Object> settings, int primitivesWhileProfiled) {}

    private static Ran fiveRuns(String name, CudaBackend cuda, ScenarioOptions o) {
        ProfilingBackend pb = ProfilingBackend.wrap(cuda);
        try (Scope s = Scope.open(); var use = Backends.use(pb); Scenario sc = Scenarios.create(name, pb, o)) {
            for (int i = 0; i < 5; i++) sc.step();
            int recorded;
            try (Profiler p = pb.start(Profiler.Options.record())) {
                p.stepBegin(5);
                sc.step();
                p.stepEnd();
                recorded = p.events().size();
            }
            return new Ran(sc.fingerprint(), sc.settings(), recorded);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void graphModeEqualsOpByOp(String name, ScenarioOptions o) {
        CudaBackend cuda = CudaTesting.cuda();
        Ran eager = fiveRuns(name, cuda, o), graph = fiveRuns(name, cuda, o.withCudaGraph(true));
        assertFalse(eager.settings().containsKey("mode"), "op by op unless asked: " + eager.settings());
        assertTrue(String.valueOf(graph.settings().get("mode")).startsWith("cuda-graph"), graph.settings().toString());
        assertEquals(eager.fingerprint().keySet(), graph.fingerprint().keySet());
        for (var e : eager.fingerprint().entrySet()) assertArrayEquals(e.getValue(), graph.fingerprint().get(e.getKey()), name + ": " + e.getKey());
        assertEquals(eager.primitivesWhileProfiled(), graph.primitivesWhileProfiled(), "a profiled run is op by op in both modes");
        assertTrue(graph.primitivesWhileProfiled() > 20, "the step's primitives were recorded: " + graph.primitivesWhileProfiled());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void onTheCpuGraphModeSaysItHadNoEffect(String name, ScenarioOptions o) {
        try (Scope s = Scope.open(); Scenario sc = Scenarios.create(name, Backends.cpu(), o.withCudaGraph(true))) {
            assertEquals("op by op (--cuda-graph needs the CUDA backend)", sc.settings().get("mode"));
        }
    }
}
