package dvp.training.study;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The aggregation over seeds against numbers worked out independently (numpy, t tables, closed forms). */
class SeedSummaryTest {
    @Test
    void tQuantilesMatchTheTables() {
        // two-sided 95 %: t_{0.975, df}
        assertEquals(12.706205, StudentT.quantile(0.975, 1), 1e-6);
        assertEquals(4.302653, StudentT.quantile(0.975, 2), 1e-6);
        assertEquals(2.776445, StudentT.quantile(0.975, 4), 1e-6);
        assertEquals(2.262157, StudentT.quantile(0.975, 9), 1e-6);
        assertEquals(2.042272, StudentT.quantile(0.975, 30), 1e-6);
        assertEquals(1.962339, StudentT.quantile(0.975, 1000), 1e-6);
        assertEquals(-2.776445, StudentT.quantile(0.025, 4), 1e-6);
        assertEquals(0, StudentT.quantile(0.5, 7), 0);
    }

    @Test
    void cdfMatchesClosedForms() {
        // df 1 is the Cauchy distribution: F(t) = 1/2 + atan(t)/π
        for (double t : new double[]{-3, -1, 0, 0.5, 1, 7})
            assertEquals(0.5 + Math.atan(t) / Math.PI, StudentT.cdf(t, 1), 1e-13, "df 1, t " + t);
        // df 2: F(t) = 1/2 + t / (2 √(2 + t²))
        for (double t : new double[]{-2, 0.3, 2, 10})
            assertEquals(0.5 + t / (2 * Math.sqrt(2 + t * t)), StudentT.cdf(t, 2), 1e-13, "df 2, t " + t);
        assertEquals(Math.log(24), StudentT.logGamma(5), 1e-13);
        assertEquals(0.5 * Math.log(Math.PI), StudentT.logGamma(0.5), 1e-13);
    }

    @Test
    void meanSdAndIntervalOfKnownValues() {
        SeedSummary s = SeedSummary.of(1, 2, 3, 4, 5);
        assertEquals(5, s.n());
        assertEquals(3, s.mean(), 1e-12);
        assertEquals(Math.sqrt(2.5), s.sd(), 1e-12); // sample sd (n − 1)
        assertEquals(1.0367568385224393, s.low(), 1e-9);
        assertEquals(4.9632431614775605, s.high(), 1e-9);
        assertTrue(s.contains(3) && s.contains(1.04) && !s.contains(1.03));
        assertEquals(1, s.signVersusZero());
    }

    @Test
    void pairedDifferencesUseTheDifferencesNotTheTwoIntervals() {
        double[] distill = {74.1, 72.9, 75.3, 73.8, 74.6}, finetune = {73.0, 73.4, 74.1, 72.2, 74.0};
        SeedSummary d = SeedSummary.paired(distill, finetune);
        assertEquals(0.8, d.mean(), 1e-12);
        assertEquals(0.809320702811931, d.sd(), 1e-12);
        assertEquals(-0.20490437968254738, d.low(), 1e-9);
        assertEquals(1.8049043796825417, d.high(), 1e-9);
        assertEquals(0, d.signVersusZero()); // the interval contains 0: no claim either way
        assertEquals(-1, SeedSummary.paired(new double[]{1, 2, 3}, new double[]{2, 3.1, 4.05}).signVersusZero());
        assertThrows(IllegalArgumentException.class, () -> SeedSummary.paired(new double[]{1, 2}, new double[]{1}));
    }

    @Test
    void oneSeedHasNoIntervalAndBadValuesAreRefused() {
        SeedSummary one = SeedSummary.of(70.2);
        assertEquals(70.2, one.mean(), 0);
        assertTrue(Double.isNaN(one.sd()) && Double.isNaN(one.low()) && Double.isNaN(one.high()));
        assertFalse(one.hasInterval());
        assertFalse(one.contains(70.2));
        assertThrows(IllegalArgumentException.class, () -> SeedSummary.of());
        assertThrows(IllegalArgumentException.class, () -> SeedSummary.of(1, Double.NaN));
    }
}
