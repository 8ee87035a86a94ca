package dvp.training.study;

import java.util.Arrays;

/**
 * One quantity measured once per seed, summarised: n, mean, sample standard deviation (n − 1 in
 * the denominator) and the two-sided 95 % confidence interval of the mean from Student's t,
 * mean ± t_{0.975, n−1} · sd / √n. For a paired comparison ({@link #paired}) the quantity is the
 * per-seed difference, so the interval is the paired t interval. With one seed there is no
 * interval (NaN bounds): nothing can be said about the spread.
 *
 * @param values the per-seed values, in seed order (non-finite values are not allowed)
 */
public record SeedSummary(double[] values, int n, double mean, double sd, double low, double high) {
    /** The confidence level of every interval here. */
    public static final double LEVEL = 0.95;

    public static SeedSummary of(double... values) {
        if (values.length == 0) throw new IllegalArgumentException("seed summary: no values");
        for (double v : values)
            if (!Double.isFinite(v)) throw new IllegalArgumentException("seed summary: non-finite value in " + Arrays.toString(values));
        int n = values.length;
        double sum = 0;
        for (double v : values) sum += v;
        double mean = sum / n, ss = 0;
        for (double v : values) ss += (v - mean) * (v - mean);
        if (n == 1) return new SeedSummary(values.clone(), 1, mean, Double.NaN, Double.NaN, Double.NaN);
        double sd = Math.sqrt(ss / (n - 1));
        double half = StudentT.quantile(1 - (1 - LEVEL) / 2, n - 1) * sd / Math.sqrt(n);
        return new SeedSummary(values.clone(), n, mean, sd, mean - half, mean + half);
    }

    /** The per-seed differences a[i] − b[i] (the same seeds, in the same order), summarised. */
    public static SeedSummary paired(double[] a, double[] b) {
        if (a.length != b.length)
            throw new IllegalArgumentException("paired differences need the same seeds on both sides, got " + a.length + " and " + b.length + " values");
        double[] d = new double[a.length];
        for (int i = 0; i < d.length; i++) d[i] = a[i] - b[i];
        return of(d);
    }

    /** Half the interval's width (NaN with one seed). */
    public double halfWidth() { return (high - low) / 2; }

    public boolean hasInterval() { return n > 1; }

    /** Whether x lies inside the closed interval (false without one). */
    public boolean contains(double x) { return hasInterval() && x >= low && x <= high; }

    /** Whether the interval lies entirely above (+1) or below (−1) zero, or contains it (0); 0 without an interval. */
    public int signVersusZero() {
        if (!hasInterval()) return 0;
        return low > 0 ? 1 : high < 0 ? -1 : 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SeedSummary s && Arrays.equals(values, s.values);
    }

    @Override
    public int hashCode() { return Arrays.hashCode(values); }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%.2f ± %.2f (n %d, sd %.2f)", mean, halfWidth(), n, sd);
    }
}
