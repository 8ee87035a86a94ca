package dvp.training.pipeline;

/**
 * One row of the results table: a method, how long it pre-trained and trained, its validation
 * top-1 at the last epoch and at the best epoch, its test top-1/top-5 (NaN when the test set has
 * no labels or there is none) and its wall-clock time (all its stages, pre-training excluded).
 *
 * @param paperTop1 Table 1's VIPriors value for this row (ResNet-50, 800 + 100 epochs), NaN if none
 */
public record ResultRow(String method, int pretrainEpochs, int epochs, double valTop1Last, double valTop1Best, double testTop1,
                        double testTop5, double seconds, double paperTop1, String model) {}
