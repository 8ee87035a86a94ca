package dvp.training.loop;

import dvp.nn.optim.LrSchedule;
import dvp.training.run.BadInputException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ScheduleSpecTest {
    @Test
    void phaseTwoScheduleIsDvpsAt100EpochsAndKeepsItsShapeWhenShorter() {
        ScheduleSpec s = ScheduleSpec.stepsAtOneBased(100, 0.3, 0.6, 0.9);
        assertEquals(List.of(29, 59, 89), s.milestones());
        LrSchedule ours = s.build(100), dvp = LrSchedule.dvpPhase2();
        for (int e = 0; e < 100; e++) assertEquals(dvp.factor(e, 0), ours.factor(e, 0), 1e-12, "epoch " + e);
        assertEquals(List.of(5, 11, 17), ScheduleSpec.stepsAtOneBased(20, 0.3, 0.6, 0.9).milestones());
        assertEquals(List.of(1, 2, 3), ScheduleSpec.stepsAtOneBased(4, 0.3, 0.6, 0.9).milestones(), "epoch 0 at the base lr");
        assertEquals(1.0, ScheduleSpec.stepsAtOneBased(2, 0.3, 0.6, 0.9).build(2).factor(0, 0));
    }

    @Test
    void linearEvalScheduleIsMainLinclsAt100Epochs() {
        assertEquals(List.of(60, 80), ScheduleSpec.stepsAtZeroBased(100, 0.6, 0.8).milestones());
        LrSchedule s = ScheduleSpec.stepsAtZeroBased(100, 0.6, 0.8).build(100);
        assertEquals(1.0, s.factor(59, 0));
        assertEquals(0.1, s.factor(60, 0), 1e-12);
        assertEquals(0.01, s.factor(80, 0), 1e-12);
    }

    @Test
    void cosineIsMocoV2s() {
        LrSchedule c = ScheduleSpec.cosine().build(200);
        for (int e : new int[]{0, 1, 57, 100, 199}) assertEquals(0.5 * (1 + Math.cos(Math.PI * e / 200)), c.factor(e, 0), 1e-12);
        assertEquals(0.01, ScheduleSpec.steps(0.1, 120, 160).build(800).factor(500, 0), 1e-12, "the paper's literal schedule");
    }

    @Test
    void badSchedulesAreOneLineErrors() {
        assertThrows(BadInputException.class, () -> new ScheduleSpec("linear", null, 0.1).validate());
        assertThrows(BadInputException.class, () -> new ScheduleSpec("steps", List.of(-1), 0.1).validate());
        assertThrows(BadInputException.class, () -> new ScheduleSpec("steps", List.of(3), 0).validate());
    }
}
