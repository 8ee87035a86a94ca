package dvp.training.data.transforms;

import dvp.engine.Rng;
import dvp.training.data.image.Image8;

/**
 * One augmented view of a sample, split in two so the same parameters can be applied anywhere
 * (here on the CPU; later by a GPU kernel, issue 10): {@link #sample} draws every random choice of
 * the view from a seeded {@link Rng} into a small {@link ViewParams} record, knowing only the
 * source image size; {@link #apply} is a pure function of (image, params).
 *
 * <p>The output is an 8-bit image of {@link #outWidth()} × {@link #outHeight()}; the loader turns
 * it into normalised float CHW with {@link Normalize}.
 */
public interface ViewTransform {
    int outWidth();

    int outHeight();

    /** Draws the view's parameters for a source image of the given (original, undecoded) size. */
    ViewParams sample(Rng rng, int srcWidth, int srcHeight);

    /**
     * Applies params to src. {@code srcScale} is the size of src relative to the original image
     * the parameters were sampled for (1 normally; k/8 when the JPEG decoder already shrank it).
     */
    Image8 apply(Image8 src, double srcScale, ViewParams params);

    default Image8 apply(Image8 src, ViewParams params) { return apply(src, 1.0, params); }
}
