package dvp.training.perf;

import java.util.Arrays;

/**
 * Summary of repeated measurements: median (the figure benchmarks report; robust to the odd
 * slow sample a shared machine produces), quartiles, extremes, mean and sample standard
 * deviation. Quantiles interpolate linearly between order statistics (numpy's default).
 */
public record Stats(int samples, double median, double q1, double q3, double min, double max, double mean, double stdev) {
    public static Stats of(double... values) {
        if (values.length == 0) throw new IllegalArgumentException("Stats: no samples");
        double[] v = values.clone();
        Arrays.sort(v);
        double sum = 0;
        for (double x : v) sum += x;
        double mean = sum / v.length, ss = 0;
        for (double x : v) ss += (x - mean) * (x - mean);
        double sd = v.length > 1 ? Math.sqrt(ss / (v.length - 1)) : 0;
        return new Stats(v.length, quantile(v, 0.5), quantile(v, 0.25), quantile(v, 0.75), v[0], v[v.length - 1], mean, sd);
    }

    /** The q-quantile of sorted values, linear interpolation between closest ranks. */
    static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos), hi = (int) Math.ceil(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    /** Interquartile range relative to the median, in percent (the spread shown next to medians). */
    public double spreadPct() { return median == 0 ? 0 : 100 * (q3 - q1) / median; }
}
