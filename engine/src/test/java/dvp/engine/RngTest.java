package dvp.engine;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RngTest {
    @Test void sameSeedSameStreamAndStateRestores() {
        Rng a = new Rng(42), b = new Rng(42);
        for (int i = 0; i < 100; i++) assertEquals(a.nextLong(), b.nextLong());
        long state = a.state();
        double[] next = {a.nextDouble(), a.nextGaussian(), a.nextInt(17)};
        Rng c = Rng.fromState(state);
        assertArrayEquals(next, new double[]{c.nextDouble(), c.nextGaussian(), c.nextInt(17)});
        assertNotEquals(new Rng(1).nextLong(), new Rng(2).nextLong());
    }

    @Test void forkDoesNotAdvanceAndGivesDistinctStreams() {
        Rng a = new Rng(5);
        long s = a.state();
        Rng f1 = a.fork(1), f2 = a.fork(2), f1again = a.fork(1);
        assertEquals(s, a.state());
        assertEquals(f1.nextLong(), f1again.nextLong());
        assertNotEquals(a.fork(1).nextLong(), f2.nextLong());
    }

    @Test void distributionsHaveTheRightRangeAndMoments() {
        Rng r = new Rng(3);
        int n = 200_000;
        double sum = 0, sq = 0;
        int[] counts = new int[7];
        for (int i = 0; i < n; i++) {
            double g = r.nextGaussian();
            sum += g;
            sq += g * g;
            float u = r.nextFloat();
            assertTrue(u >= 0 && u < 1);
            counts[r.nextInt(7)]++;
        }
        assertEquals(0, sum / n, 0.01);
        assertEquals(1, sq / n, 0.01);
        for (int c : counts) assertEquals(n / 7.0, c, n / 7.0 * 0.03);
        int[] p = r.permutation(50);
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < 50; i++) assertEquals(i, sorted[i]);
        assertFalse(Arrays.equals(p, sorted));
    }
}
