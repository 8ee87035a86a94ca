package dvp.training.observe;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every logged value kept in memory, by metric name and then group, for the curves drawn at the
 * end of a run ({@link CurvePlots}). A few numbers per step: small even for long runs.
 */
public final class MetricHistory implements MetricSink {
    /** One point of a curve. */
    public record Point(long step, double value) {}

    private final Map<String, Map<String, List<Point>>> byMetric = new LinkedHashMap<>();

    @Override
    public void write(MetricRow row) {
        for (var e : row.values().entrySet())
            byMetric.computeIfAbsent(e.getKey(), k -> new LinkedHashMap<>())
                    .computeIfAbsent(row.group(), g -> new ArrayList<>())
                    .add(new Point(row.step(), e.getValue()));
    }

    /** metric name → group → points in logging order. */
    public Map<String, Map<String, List<Point>>> curves() { return byMetric; }

    @Override
    public void flush() {}

    @Override
    public void close() {}
}
