package dvp.training.checkpoint;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.JsonNode;
import dvp.training.run.Versions;

import java.util.List;
import java.util.Map;

/**
 * {@code checkpoint.json}: everything of a checkpoint that is not a tensor. {@code state} holds one
 * object per tracked component (loop position, RNG states, schedule, queue pointer ...);
 * {@code config} and {@code classNames} let evaluate/export rebuild the model without the original
 * command line.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record CheckpointManifest(String format, int formatVersion, long step, long epoch, String savedAt,
                                 Map<String, Double> metrics, Best best, Versions versions, JsonNode config,
                                 List<String> classNames, String tensorsFile, int tensorCount, JsonNode state) {
    public static final String FORMAT = "dvp-checkpoint";
    public static final int VERSION = 1;

    /** The best value so far of the metric that picks the "best" checkpoint, and where it was reached. */
    public record Best(String metric, boolean higherIsBetter, double value, long step) {}
}
