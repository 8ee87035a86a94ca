package dvp.training.eval;

import java.util.Map;

/**
 * Averaged-softmax predictions over a dataset: the class predicted for every sample (dataset
 * order) and, when the data has labels, top-1 / top-5 accuracy (fractions; top-5 means top-min(5, K)).
 */
public record EvalResult(int count, int[] predictions, double top1, double top5, boolean labelled) {
    public Map<String, Double> metrics(String prefix) {
        return Map.of(prefix + "top1", top1, prefix + "top5", top5);
    }
}
