package dvp.training.study;

/**
 * Student's t distribution: its CDF through the regularised incomplete beta function and its
 * quantiles by bisection on the CDF. Only what a t-based confidence interval over a handful of
 * seeds needs; exact to about 1e-12 (checked against tabulated quantiles in StudentTTest).
 */
public final class StudentT {
    private StudentT() {}

    /** P(T ≤ t) for T ~ t(df), df ≥ 1. */
    public static double cdf(double t, int df) {
        if (df < 1) throw new IllegalArgumentException("Student t: degrees of freedom must be >= 1, got " + df);
        if (Double.isNaN(t)) return Double.NaN;
        if (t == Double.POSITIVE_INFINITY) return 1;
        if (t == Double.NEGATIVE_INFINITY) return 0;
        // P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2)
        double tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2.0, 0.5);
        return t >= 0 ? 1 - tail : tail;
    }

    /** The p-quantile of t(df), 0 < p < 1 (e.g. p = 0.975 for a two-sided 95 % interval). */
    public static double quantile(double p, int df) {
        if (!(p > 0 && p < 1)) throw new IllegalArgumentException("Student t: quantile needs 0 < p < 1, got " + p);
        if (p == 0.5) return 0;
        if (p < 0.5) return -quantile(1 - p, df);
        double lo = 0, hi = 1;
        while (cdf(hi, df) < p) hi *= 2; // the quantile is finite for p < 1
        for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
            double mid = 0.5 * (lo + hi);
            if (cdf(mid, df) < p) lo = mid; else hi = mid;
        }
        return 0.5 * (lo + hi);
    }

    /** I_x(a, b), the regularised incomplete beta function (Numerical Recipes' continued fraction). */
    static double regularizedBeta(double x, double a, double b) {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        double lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
        // the continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise
        if (x < (a + 1) / (a + b + 2)) return Math.exp(lnFront) * betaContinuedFraction(x, a, b) / a;
        return 1 - Math.exp(lnFront) * betaContinuedFraction(1 - x, b, a) / b;
    }

    private static double betaContinuedFraction(double x, double a, double b) {
        final double tiny = 1e-300, eps = 1e-16;
        double qab = a + b, qap = a + 1, qam = a - 1;
        double c = 1, d = 1 - qab * x / qap;
        if (Math.abs(d) < tiny) d = tiny;
        d = 1 / d;
        double h = d;
        for (int m = 1; m <= 10_000; m++) {
            int m2 = 2 * m;
            double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
            d = 1 + aa * d;
            if (Math.abs(d) < tiny) d = tiny;
            c = 1 + aa / c;
            if (Math.abs(c) < tiny) c = tiny;
            d = 1 / d;
            h *= d * c;
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            d = 1 + aa * d;
            if (Math.abs(d) < tiny) d = tiny;
            c = 1 + aa / c;
            if (Math.abs(c) < tiny) c = tiny;
            d = 1 / d;
            double del = d * c;
            h *= del;
            if (Math.abs(del - 1) < eps) return h;
        }
        throw new ArithmeticException("incomplete beta: continued fraction did not converge for x=" + x + ", a=" + a + ", b=" + b);
    }

    /** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-14). */
    static double logGamma(double x) {
        if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
        final double[] c = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
                12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
        x -= 1;
        double sum = c[0];
        for (int i = 1; i < 9; i++) sum += c[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
    }
}
