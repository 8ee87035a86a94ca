package dvp.training.data.loader;

import dvp.engine.Tensor;

import java.util.List;

/**
 * One batch on the loader's backend: {@code views.get(v)} is view v of every sample, float32
 * [size, C, H, W] (NCHW, normalised); labels is I64 [size] (−1 for unlabeled data); indices are
 * the dataset indices of the samples (a corrupt image's replacement appears under its own index);
 * {@code unreadable[i]} is true where sample i could not be read and its views are zeros (only with
 * {@link UnreadableImages#SKIP}).
 *
 * <p>The tensors live in the loader's upload ring: they stay valid until the loader has handed out
 * {@code uploadRing} more batches (2 by default), so a training step must use a batch before
 * asking for the one after next; copy it to keep it longer.
 */
public record Batch(int epoch, int step, int size, List<Tensor> views, Tensor labels, int[] indices, boolean[] unreadable) {
    /** View 0 (the only view of a single-view loader). */
    public Tensor images() { return views.getFirst(); }
}
