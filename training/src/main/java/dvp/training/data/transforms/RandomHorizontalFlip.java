package dvp.training.data.transforms;

import dvp.engine.Rng;
import dvp.training.data.image.Geometry;
import dvp.training.data.image.Image8;

/** torchvision's {@code RandomHorizontalFlip(p)}. */
public record RandomHorizontalFlip(double p) {
    public static final RandomHorizontalFlip HALF = new RandomHorizontalFlip(0.5);

    public RandomHorizontalFlip {
        if (p < 0 || p > 1) throw new IllegalArgumentException("RandomHorizontalFlip: p must be in [0, 1]");
    }

    public boolean sample(Rng rng) { return rng.nextDouble() < p; }

    public static Image8 apply(Image8 im, boolean flip) { return flip ? Geometry.hflip(im) : im; }
}
