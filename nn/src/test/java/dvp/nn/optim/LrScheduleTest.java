package dvp.nn.optim;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Each schedule against its formula (PyTorch's closed forms). */
class LrScheduleTest {
    private static final double EPS = 1e-12;

    @Test
    void stepAndMultiStep() {
        LrSchedule s = LrSchedule.step(30, 0.1);
        for (int e = 0; e < 100; e++) assertEquals(Math.pow(0.1, e / 30), s.factor(e, 7), EPS, "epoch " + e);
        LrSchedule m = LrSchedule.multiStep(0.1, 160, 120);
        assertEquals(1.0, m.factor(119, 0), EPS);
        assertEquals(0.1, m.factor(120, 0), EPS);
        assertEquals(0.1, m.factor(159, 99), EPS);
        assertEquals(0.01, m.factor(160, 0), EPS);
        assertEquals(0.01, m.factor(799, 0), EPS);
    }

    @Test
    void cosineIsMocosFormula() {
        int epochs = 200;
        LrSchedule c = LrSchedule.cosine(epochs);
        for (int e = 0; e < epochs; e++)
            assertEquals(0.5 * (1 + Math.cos(Math.PI * e / epochs)), c.factor(e, 3), EPS, "epoch " + e);
        assertEquals(1.0, c.factor(0, 0), EPS);
        assertEquals(0.5, c.factor(100, 0), EPS);
        LrSchedule withMin = LrSchedule.cosine(10, 0.01);
        assertEquals(0.01 + 0.99 * 0.5 * (1 + Math.cos(Math.PI * 3 / 10)), withMin.factor(3, 0), EPS);
        assertEquals(0.01, withMin.factor(10, 0), EPS);
    }

    @Test
    void linearWarmups() {
        LrSchedule w = LrSchedule.linearWarmupEpochs(5, 1.0 / 3);
        for (int e = 0; e < 8; e++) assertEquals(1.0 / 3 + (2.0 / 3) * Math.min(e, 5) / 5.0, w.factor(e, 0), EPS);
        LrSchedule ws = LrSchedule.linearWarmupSteps(250, 100, 0.1);
        assertEquals(0.1, ws.factor(0, 0), EPS);
        assertEquals(0.1 + 0.9 * 150 / 250.0, ws.factor(1, 50), EPS);
        assertEquals(1.0, ws.factor(2, 50), EPS);
        assertEquals(1.0, ws.factor(9, 0), EPS);
    }

    @Test
    void dvpPhase2RuleWithOneBasedEpochs() {
        // ALGORITHMS §3.6: before 1-based epoch E, lr = 0.1 * 0.1^floor(E/30): 0.1 for 1-29, 0.01 for 30-59, ...
        LrSchedule s = LrSchedule.dvpPhase2();
        for (int oneBased = 1; oneBased <= 100; oneBased++) {
            double expected = 0.1 * Math.pow(0.1, Math.floor(oneBased / 30.0));
            assertEquals(expected, 0.1 * s.factor(oneBased - 1, 0), 1e-15, "epoch " + oneBased);
        }
        assertEquals(0.1, 0.1 * s.factor(28, 0), 1e-15);
        assertEquals(0.01, 0.1 * s.factor(29, 0), 1e-15);
        assertEquals(1e-4, 0.1 * s.factor(99, 0), 1e-15);
        assertEquals(LrSchedule.step(30, 0.1).shiftEpochs(1).factor(59, 0), s.factor(59, 0), 0);
    }

    @Test
    void composition() {
        LrSchedule warm = LrSchedule.linearWarmupEpochs(5, 0.2), decay = LrSchedule.multiStep(0.1, 3, 30);
        LrSchedule product = warm.times(decay);
        for (int e = 0; e < 40; e++) assertEquals(warm.factor(e, 0) * decay.factor(e, 0), product.factor(e, 0), EPS);
        LrSchedule seq = LrSchedule.linearWarmupEpochs(5, 0.2).then(5, LrSchedule.cosine(95));
        assertEquals(0.2, seq.factor(0, 0), EPS);
        assertEquals(0.2 + 0.8 * 4 / 5.0, seq.factor(4, 0), EPS);
        assertEquals(1.0, seq.factor(5, 0), EPS);
        assertEquals(0.5 * (1 + Math.cos(Math.PI * 10 / 95)), seq.factor(15, 0), EPS);
        assertEquals(1.0, LrSchedule.constant().factor(123, 4), 0);
    }

    @Test
    void sameInputsSameLrSoResumingNeedsNoState() {
        LrSchedule s = LrSchedule.linearWarmupSteps(500, 390, 0.1).times(LrSchedule.cosine(100));
        assertEquals(s.factor(37, 211), s.factor(37, 211), 0);
    }
}
