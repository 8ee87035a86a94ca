package dvp.training;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The module layout cli → bench → training: everything that measures speed (scenarios, bench and
 * profile runs, reports, ceilings, the step profiler) is in bench/, so the training module, its
 * tests included, cannot see it.
 */
class TrainingHasNoBenchmarkCodeTest {
    @Test
    void theSpeedMeasuringClassesAreNotOnTheTrainingModulesClassPath() {
        for (String c : List.of("BenchRun", "BenchReport", "Compare", "Scenarios", "ProfileRun", "Ceilings", "StepProfiler", "Results"))
            assertThrows(ClassNotFoundException.class, () -> Class.forName("dvp.training.perf." + c), c + " belongs to bench/");
    }
}
