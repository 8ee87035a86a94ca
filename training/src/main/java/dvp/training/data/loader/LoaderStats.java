package dvp.training.data.loader;

/**
 * A snapshot of a loader's counters. Data wait = the time the consumer spent blocked in
 * {@code next()} divided by its total step time (the time between successive batches); under 5%
 * means the training step, not the data, sets the pace.
 *
 * @param batches       batches handed out
 * @param samples       samples handed out
 * @param waitNanos     time the consumer was blocked waiting for a batch
 * @param stepNanos     time from each batch handed out to the next one handed out, summed
 * @param uploadNanos   time spent copying batches to the backend (inside next())
 * @param decodeNanos   worker time reading and decoding, summed over workers
 * @param augmentNanos  worker time augmenting and writing tensors, summed over workers
 * @param decodeFailures unreadable images met (and replaced)
 */
public record LoaderStats(long batches, long samples, long waitNanos, long stepNanos, long uploadNanos,
                          long decodeNanos, long augmentNanos, long decodeFailures) {
    /** Fraction of step time spent waiting for data (0 when no step has completed). */
    public double dataWait() { return stepNanos == 0 ? 0 : (double) waitNanos / stepNanos; }

    /** Samples per second as the consumer received them. */
    public double imagesPerSecond() { return stepNanos == 0 ? 0 : samples * 1e9 / stepNanos; }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%d batches, %.1f images/s, data wait %.1f%%, worker decode %.1f s, augment %.1f s, %d unreadable",
                batches, imagesPerSecond(), 100 * dataWait(), decodeNanos / 1e9, augmentNanos / 1e9, decodeFailures);
    }
}
