package dvp.training.data.transforms;

import dvp.engine.Rng;
import dvp.training.data.image.ColorOps;
import dvp.training.data.image.Image8;

/** torchvision's {@code RandomGrayscale(p)}: with probability p, PIL grayscale kept as 3 channels. */
public record RandomGrayscale(double p) {
    public RandomGrayscale {
        if (p < 0 || p > 1) throw new IllegalArgumentException("RandomGrayscale: p must be in [0, 1]");
    }

    public boolean sample(Rng rng) { return rng.nextDouble() < p; }

    public static Image8 apply(Image8 im, boolean gray) { return gray ? ColorOps.grayscale(im, im.channels) : im; }
}
