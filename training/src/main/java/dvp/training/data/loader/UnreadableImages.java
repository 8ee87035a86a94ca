package dvp.training.data.loader;

/**
 * What a loader does with an image it cannot read or decode. Training may replace it (a run of
 * days should not die for one broken file, and torchvision users often wrap their dataset to do
 * the same); a score or a prediction must never silently stand for another image.
 */
public enum UnreadableImages {
    /** Take the next readable sample of the epoch order instead (training; counted, reported once per run). */
    REPLACE,
    /** Stop at the first one with an error naming it (evaluation and prediction by default). */
    FAIL,
    /** Keep its place in the batch with zero pixels and mark it {@link Batch#unreadable} (evaluation with --skip-unreadable). */
    SKIP
}
