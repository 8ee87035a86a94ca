package dvp.training.observe;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import java.util.regex.Pattern;

/**
 * One logged row: a group ("train", "val", "epoch"), the global step it belongs to, wall-clock
 * seconds, and named values in a fixed order (the order is the CSV column order).
 */
public record MetricRow(String group, long step, double wallTime, SequencedMap<String, Double> values) {
    private static final Pattern GROUP = Pattern.compile("[A-Za-z0-9_-]+");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_./-]+");

    public MetricRow {
        if (!GROUP.matcher(group).matches())
            throw new IllegalArgumentException("metric group '" + group + "' must match " + GROUP);
        if (step < 0) throw new IllegalArgumentException("metric step must be >= 0: " + step);
        for (String k : values.keySet())
            if (!NAME.matcher(k).matches() || k.equals("step") || k.equals("time") || k.equals("group"))
                throw new IllegalArgumentException("metric name '" + k + "' must match " + NAME
                        + " and not be step/time/group");
        values = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(values));
    }

    public Map<String, Double> asMap() { return values; }
}
