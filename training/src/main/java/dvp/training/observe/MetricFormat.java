package dvp.training.observe;

import java.util.Locale;

/** How metric values are printed in CSV and JSONL. */
final class MetricFormat {
    private MetricFormat() {}

    /**
     * Shortest text that reads back to the same value: a value that came from a float prints as
     * that float ("0.1", not "0.10000000149011612"), any other double in full. NaN/±Inf print as
     * NaN/Infinity/-Infinity (CSV); JSONL writes null for them.
     */
    static String number(double v) {
        if (Double.isNaN(v)) return "NaN";
        if (Double.isInfinite(v)) return v > 0 ? "Infinity" : "-Infinity";
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        float f = (float) v;
        return (double) f == v ? Float.toString(f) : Double.toString(v);
    }

    static String time(double seconds) { return String.format(Locale.ROOT, "%.3f", seconds); }
}
