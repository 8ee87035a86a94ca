package dvp.training.perf;

import org.junit.jupiter.api.Test;

import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WarmupTest {
    /** A workload that speeds up as it is compiled and cached, with a slow outlier every 7th run: 0.7 ms + 20/(n+1) ms. */
    private static DoubleSupplier settling() {
        int[] n = {0};
        return () -> {
            int i = n[0]++;
            return 0.7 + 20.0 / (i + 1) + (i % 7 == 6 ? 5 : 0);
        };
    }

    @Test
    void warmsUpUntilThreeSuccessiveWindowMediansAgree() {
        DoubleSupplier work = settling();
        Warmup w = Warmup.run(new Warmup.Policy(3, 5, 10), work);
        assertTrue(w.stable(), w.toString());
        // a 5-run window moves the median by about 100/n^2 ms: under 5 % of it from about 40 runs on
        assertTrue(w.runs() >= 40 && w.runs() <= 90, w.toString());
        double[] next = new double[10];
        for (int i = 0; i < next.length; i++) next[i] = work.getAsDouble();
        double after = Stats.of(next).median(), atStart = 0.7 + 20.0 / 4;
        assertTrue(after < 1.2 && atStart / after > 4, "the timed samples see the settled speed (" + after + " ms), not the first runs' "
                + atStart + " ms");
        assertEquals(3, Warmup.run(new Warmup.Policy(3, 5, 0), settling()).runs(), "--warmup-max-seconds 0: exactly --warmup runs");
    }

    @Test
    void aPlateauOfTwoWindowsIsNotYetStable() {
        // 10 runs at one JIT tier's speed, then the faster tier: two windows agreeing once is not enough
        int[] n = {0};
        Warmup w = Warmup.run(new Warmup.Policy(0, 5, 10), () -> n[0]++ < 10 ? 9.0 : 1.4);
        assertTrue(w.stable() && w.runs() >= 25, "three windows of the settled speed: " + w);
    }

    @Test
    void stopsAfterItsTimeBudgetAndSaysItIsNotStable() {
        int[] n = {0};
        Warmup w = Warmup.run(new Warmup.Policy(3, 5, 0.5), () -> n[0]++ % 2 == 0 ? 10 : 30); // medians alternate forever
        assertFalse(w.stable());
        assertTrue(w.seconds() >= 0.5 && w.seconds() < 0.5 + 5 * 0.03 + 1e-9, w.toString());
    }

    @Test
    void badPolicies() {
        assertThrows(dvp.training.run.BadInputException.class, () -> new Warmup.Policy(-1, 5, 1).validate());
        assertThrows(dvp.training.run.BadInputException.class, () -> new Warmup.Policy(1, 0, 1).validate());
        assertThrows(dvp.training.run.BadInputException.class, () -> new Warmup.Policy(1, 5, -1).validate());
    }
}
