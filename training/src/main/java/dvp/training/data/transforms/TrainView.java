package dvp.training.data.transforms;

import dvp.engine.Rng;
import dvp.training.data.image.Image8;

/**
 * The supervised training view of phase 2, fine-tuning and linear evaluation (ALGORITHMS §4.2):
 * RandomResizedCrop(size) with torchvision's default scale (0.08, 1) → RandomHorizontalFlip →
 * optional AutoAugment (the DVP CIFAR-10 policy for fidelity; torchvision policies as options).
 */
public record TrainView(int size, RandomResizedCrop crop, RandomHorizontalFlip flip, AutoAugment autoAugment) implements ViewTransform {

    public static TrainView of(int size) { return new TrainView(size, RandomResizedCrop.DEFAULT, RandomHorizontalFlip.HALF, null); }

    public static TrainView withAutoAugment(int size, AutoAugment.Policy policy) {
        return new TrainView(size, RandomResizedCrop.DEFAULT, RandomHorizontalFlip.HALF, new AutoAugment(policy));
    }

    public record Params(int srcWidth, int srcHeight, CropBox crop, int size, boolean flip, AutoAugment.Params autoAugment) implements SquareCropParams {}

    @Override public int outWidth() { return size; }

    @Override public int outHeight() { return size; }

    @Override
    public Params sample(Rng rng, int srcWidth, int srcHeight) {
        CropBox box = crop.sample(rng, srcWidth, srcHeight);
        boolean f = flip.sample(rng);
        AutoAugment.Params aa = autoAugment == null ? null : autoAugment.sample(rng, size, size);
        return new Params(srcWidth, srcHeight, box, size, f, aa);
    }

    @Override
    public Image8 apply(Image8 src, double srcScale, ViewParams params) {
        Params p = (Params) params;
        Image8 im = Crops.resizedCrop(src, srcScale, p.crop(), size, size);
        im = RandomHorizontalFlip.apply(im, p.flip());
        if (autoAugment != null) im = autoAugment.apply(im, p.autoAugment());
        return im;
    }
}
