package dvp.training.perf;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * One measured figure of a results file: name, unit, which direction is better, how many samples
 * and their summary; the raw samples are kept so other statistics can be computed later. A
 * derived figure (a throughput computed from the median time) has the samples it was derived from.
 * See docs/results-schema.md.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Figure(String name, String unit, String better, int samples, double median, double q1, double q3, double min,
                     double max, double mean, double stdev, @JsonProperty("spread_pct") double spreadPct, List<Double> values,
                     String note) {
    public static final String LOWER = "lower", HIGHER = "higher";

    public static Figure of(String name, String unit, String better, double[] values, String note) {
        Stats s = Stats.of(values);
        List<Double> v = new java.util.ArrayList<>(values.length);
        for (double x : values) v.add(x);
        return new Figure(name, unit, better, s.samples(), s.median(), s.q1(), s.q3(), s.min(), s.max(), s.mean(), s.stdev(),
                s.spreadPct(), v, note);
    }

    /** This figure with {@code label} in front of its note ("simulated, not a speed; device clock"). */
    Figure labelled(String label) {
        return new Figure(name, unit, better, samples, median, q1, q3, min, max, mean, stdev, spreadPct, values,
                note == null || note.isEmpty() ? label : label + "; " + note);
    }

    /** A single value (a ceiling, a count): one sample. */
    public static Figure single(String name, String unit, String better, double value, String note) {
        return of(name, unit, better, new double[]{value}, note);
    }
}
