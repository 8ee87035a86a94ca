package dvp.training.data.transforms;

import dvp.engine.Rng;
import dvp.training.data.image.GaussianBlurPil;
import dvp.training.data.image.Image8;

/**
 * MoCo v2's {@code RandomApply([GaussianBlur([σmin, σmax])], p)}: with probability p, a PIL
 * Gaussian blur with σ ~ U[σmin, σmax] ({@link GaussianBlurPil}, the three-box approximation
 * PIL implements). The sampled value is σ, or 0 for "not applied".
 */
public record RandomGaussianBlur(double p, double sigmaMin, double sigmaMax) {
    /** MoCo v2 "aug-plus": p 0.5, σ ~ U[0.1, 2.0]. */
    public static final RandomGaussianBlur MOCO_V2 = new RandomGaussianBlur(0.5, 0.1, 2.0);

    public RandomGaussianBlur {
        if (p < 0 || p > 1) throw new IllegalArgumentException("GaussianBlur: p must be in [0, 1]");
        if (!(sigmaMin > 0 && sigmaMin <= sigmaMax)) throw new IllegalArgumentException("GaussianBlur: bad sigma range (" + sigmaMin + ", " + sigmaMax + ")");
    }

    /** σ, or 0 when the blur is not applied. */
    public double sample(Rng rng) {
        if (!(rng.nextDouble() < p)) return 0;
        return rng.uniform(sigmaMin, sigmaMax);
    }

    public static Image8 apply(Image8 im, double sigma) { return sigma > 0 ? GaussianBlurPil.blur(im, sigma) : im; }
}
