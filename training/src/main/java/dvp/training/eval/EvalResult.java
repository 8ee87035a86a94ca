package dvp.training.eval;

import java.util.LinkedHashMap;
import java.util.SequencedMap;

/**
 * Averaged-softmax predictions over a dataset: the class predicted for every sample (dataset
 * order) and, when the data has labels, top-1 / top-5 accuracy (fractions; top-5 means top-min(5, K)).
 */
public record EvalResult(int count, int[] predictions, double top1, double top5, boolean labelled) {
    /** top1 then top5, in this order (they become CSV columns; Map.of's order changes from JVM to JVM). */
    public SequencedMap<String, Double> metrics(String prefix) {
        SequencedMap<String, Double> m = new LinkedHashMap<>();
        m.put(prefix + "top1", top1);
        m.put(prefix + "top5", top5);
        return m;
    }
}
