package dvp.nn.models;

import dvp.nn.BatchNorm2d;
import dvp.nn.SplitBatchNorm2d;

/** Makes the normalisation layer for a given channel count (torchvision's {@code norm_layer} argument). */
@FunctionalInterface
public interface NormFactory {
    BatchNorm2d create(int channels);

    /** Plain BatchNorm2d with PyTorch's defaults. */
    static NormFactory batchNorm() { return BatchNorm2d::new; }

    /** MoCo's single-GPU split BN with {@code splits} groups (ALGORITHMS §2.5). */
    static NormFactory splitBatchNorm(int splits) { return c -> new SplitBatchNorm2d(c, splits); }
}
