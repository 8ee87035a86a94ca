package dvp.training.loop;

import java.util.Locale;

/** Short human formatting of logged numbers (progress lines, summaries). */
public final class MetricsFormat {
    private MetricsFormat() {}

    /** 4 significant digits, or "nan"/"inf". */
    public static String value(double v) {
        if (Double.isNaN(v)) return "nan";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        return String.format(Locale.ROOT, "%.4g", v);
    }

    /** A fraction as a percentage with one decimal: 0.4567 → "45.7". */
    public static String percent(double fraction) {
        return Double.isNaN(fraction) ? "-" : String.format(Locale.ROOT, "%.1f", 100 * fraction);
    }
}
