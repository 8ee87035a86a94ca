package dvp.training.eval;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;

/**
 * Averaged-softmax predictions over a dataset: the class predicted for every sample (dataset
 * order; -1 for an image that could not be read) and, when the data has labels, top-1 / top-5
 * accuracy over the scored images (fractions; top-5 means top-min(5, K)).
 *
 * @param count      images scored (read and classified)
 * @param unreadable the images left out because they could not be read (only with
 *                   {@link EvalOptions#skipUnreadable()}; otherwise the evaluation stops at one)
 */
public record EvalResult(int count, int[] predictions, double top1, double top5, boolean labelled, List<String> unreadable) {
    public EvalResult {
        unreadable = List.copyOf(unreadable);
    }

    public EvalResult(int count, int[] predictions, double top1, double top5, boolean labelled) {
        this(count, predictions, top1, top5, labelled, List.of());
    }

    /** top1 then top5, in this order (they become CSV columns; Map.of's order changes from JVM to JVM). */
    public SequencedMap<String, Double> metrics(String prefix) {
        SequencedMap<String, Double> m = new LinkedHashMap<>();
        m.put(prefix + "top1", top1);
        m.put(prefix + "top5", top5);
        return m;
    }
}
