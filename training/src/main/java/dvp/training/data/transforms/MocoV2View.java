package dvp.training.data.transforms;

import dvp.engine.Rng;
import dvp.training.data.image.Image8;

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

    /** Everything one view draws; blurSigma 0 means no blur. */
    public record Params(int srcWidth, int srcHeight, CropBox crop, int size, ColorJitter.Params jitter,
                         boolean grayscale, double blurSigma, boolean flip) implements SquareCropParams {}

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
