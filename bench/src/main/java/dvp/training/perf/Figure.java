package dvp.training.perf;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * One measured figure of a results file: name, unit, which direction is better, how many samples
 * and their summary; the raw samples are kept so other statistics can be computed later. A
 * derived figure (a rate: the work of one run over each sample's time) has one value per sample of
 * the time it comes from and names it in {@code derivedFrom}: its spread is not the time's (the
 * quartiles of 1/x are not 1/the quartiles of x when the samples are skewed), so whether a change is
 * noise is judged on the time ({@link Compare}). See docs/results-schema.md.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Figure(String name, String unit, String better, int samples, double median, double q1, double q3, double min,
                     double max, double mean, double stdev, @JsonProperty("spread_pct") double spreadPct, List<Double> values,
                     String note, @JsonProperty("derived_from") String derivedFrom) {
    public static final String LOWER = "lower", HIGHER = "higher";

    public static Figure of(String name, String unit, String better, double[] values, String note) {
        return of(name, unit, better, values, note, null);
    }

    /** A rate (higher is better) computed per sample from the figure named {@code from}. */
    public static Figure derived(String name, String unit, double[] values, String note, String from) {
        return of(name, unit, HIGHER, values, note, from);
    }

    private static Figure of(String name, String unit, String better, double[] values, String note, String from) {
        Stats s = Stats.of(values);
        List<Double> v = new java.util.ArrayList<>(values.length);
        for (double x : values) v.add(x);
        return new Figure(name, unit, better, s.samples(), s.median(), s.q1(), s.q3(), s.min(), s.max(), s.mean(), s.stdev(),
                s.spreadPct(), v, note, from);
    }

    /** This figure with {@code label} in front of its note ("simulated, not a speed; device clock"). */
    Figure labelled(String label) {
        return new Figure(name, unit, better, samples, median, q1, q3, min, max, mean, stdev, spreadPct, values,
                note == null || note.isEmpty() ? label : label + "; " + note, derivedFrom);
    }

    /** A single value (a ceiling, a count): one sample. */
    public static Figure single(String name, String unit, String better, double value, String note) {
        return of(name, unit, better, new double[]{value}, note);
    }
}
