package dvp.training.data.transforms;

/**
 * The sampled parameters of one view. Besides its own fields, each tells which part of the source
 * image the view reads and how large that part becomes, so the loader can decide how far the JPEG
 * decoder may shrink the image (DCT scaling) without losing resolution the view needs.
 */
public interface ViewParams {
    /** Width and height of the original image the parameters were drawn for. */
    int srcWidth();

    int srcHeight();

    /** The source rectangle (original pixels) the view resamples. */
    CropBox region();

    /** The size (width, height) that region is resampled to. */
    int regionOutWidth();

    int regionOutHeight();

    /**
     * The smallest source scale (≤ 1) at which the region still has at least {@code oversample}
     * times the pixels of its resampled size in both directions.
     */
    default double minSourceScale(double oversample) {
        double sx = oversample * regionOutWidth() / region().width();
        double sy = oversample * regionOutHeight() / region().height();
        return Math.min(1.0, Math.max(sx, sy));
    }
}
