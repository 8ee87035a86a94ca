package dvp.training.data.transforms;

import dvp.engine.Rng;
import dvp.training.data.image.Image8;

import java.util.List;

/**
 * One view of MoCo v2's "aug-plus" pipeline (ALGORITHMS §4.1), applied independently to each of
 * the two views: RandomResizedCrop(size, scale (0.2, 1)) → RandomApply(ColorJitter(0.4, 0.4, 0.4,
 * 0.1), p 0.8) → RandomGrayscale(0.2) → RandomApply(GaussianBlur σ ∈ [0.1, 2], p 0.5) →
 * RandomHorizontalFlip → (ToTensor, Normalize by the loader). Every stage is configurable;
 * {@link #mocoV1} gives MoCo v1's recipe for reference.
 */
public record MocoV2View(int size, RandomResizedCrop crop, ColorJitter jitter, RandomGrayscale grayscale,
                         RandomGaussianBlur blur, RandomHorizontalFlip flip) implements ViewTransform {

    public static MocoV2View of(int size) {
        return new MocoV2View(size, RandomResizedCrop.MOCO, ColorJitter.MOCO_V2, new RandomGrayscale(0.2),
                RandomGaussianBlur.MOCO_V2, RandomHorizontalFlip.HALF);
    }

    /** MoCo v1: crop scale (0.2, 1), grayscale 0.2, jitter (0.4, 0.4, 0.4, 0.4) always, flip, no blur. */
    public static MocoV2View mocoV1(int size) {
        return new MocoV2View(size, RandomResizedCrop.MOCO, new ColorJitter(0.4, 0.4, 0.4, 0.4, 1.0), new RandomGrayscale(0.2),
                new RandomGaussianBlur(0.0, 0.1, 2.0), RandomHorizontalFlip.HALF);
    }

    /** Both views of a MoCo sample: two independent draws of the same recipe. */
    public static List<ViewTransform> twoViews(int size) { return List.of(of(size), of(size)); }

    /** Everything one view draws; blurSigma 0 means no blur. */
    public record Params(int srcWidth, int srcHeight, CropBox crop, int size, ColorJitter.Params jitter,
                         boolean grayscale, double blurSigma, boolean flip) implements SquareCropParams {
        /** Floats per view in {@link #pack}. */
        public static final int PACKED_LENGTH = 16;

        /**
         * The parameters as one flat float record for a device kernel (issue 10), at dst[off..off+16):
         * crop top, left, height, width (source pixels; exact below 2^24); jitter applied (0/1);
         * the four op indices in application order (0 brightness, 1 contrast, 2 saturation, 3 hue);
         * brightness, contrast, saturation, hue factors (NaN = op disabled); grayscale (0/1);
         * blur σ (0 = none); flip (0/1). The output size is the view's, not per sample.
         */
        public void pack(float[] dst, int off) {
            dst[off] = crop.top();
            dst[off + 1] = crop.left();
            dst[off + 2] = crop.height();
            dst[off + 3] = crop.width();
            dst[off + 4] = jitter.applied() ? 1 : 0;
            for (int i = 0; i < 4; i++) dst[off + 5 + i] = jitter.order()[i];
            dst[off + 9] = (float) jitter.brightness();
            dst[off + 10] = (float) jitter.contrast();
            dst[off + 11] = (float) jitter.saturation();
            dst[off + 12] = (float) jitter.hue();
            dst[off + 13] = grayscale ? 1 : 0;
            dst[off + 14] = (float) blurSigma;
            dst[off + 15] = flip ? 1 : 0;
        }
    }

    @Override public int outWidth() { return size; }

    @Override public int outHeight() { return size; }

    @Override
    public Params sample(Rng rng, int srcWidth, int srcHeight) {
        CropBox box = crop.sample(rng, srcWidth, srcHeight);
        ColorJitter.Params j = jitter.sample(rng);
        boolean g = grayscale.sample(rng);
        double sigma = blur.sample(rng);
        boolean f = flip.sample(rng);
        return new Params(srcWidth, srcHeight, box, size, j, g, sigma, f);
    }

    @Override
    public Image8 apply(Image8 src, double srcScale, ViewParams params) {
        Params p = (Params) params;
        Image8 im = Crops.resizedCrop(src, srcScale, p.crop(), size, size);
        im = ColorJitter.apply(im, p.jitter());
        im = RandomGrayscale.apply(im, p.grayscale());
        im = RandomGaussianBlur.apply(im, p.blurSigma());
        return RandomHorizontalFlip.apply(im, p.flip());
    }
}
