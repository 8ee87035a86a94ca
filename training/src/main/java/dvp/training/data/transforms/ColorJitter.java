package dvp.training.data.transforms;

import dvp.engine.Rng;
import dvp.training.data.image.ColorOps;
import dvp.training.data.image.Image8;

/**
 * torchvision's {@code ColorJitter(brightness, contrast, saturation, hue)}: factors
 * b, c, s ~ U[max(0, 1 − x), 1 + x], hue ~ U[−x, x], applied in a uniformly random order (a
 * permutation of the four ops, like {@code torch.randperm(4)}); a zero strength disables that
 * op. Wrapped in {@code RandomApply(p)} when {@code p < 1} (MoCo v2 uses p = 0.8).
 */
public record ColorJitter(double brightness, double contrast, double saturation, double hue, double p) {
    /** MoCo v2: ColorJitter(0.4, 0.4, 0.4, 0.1) applied with probability 0.8. */
    public static final ColorJitter MOCO_V2 = new ColorJitter(0.4, 0.4, 0.4, 0.1, 0.8);

    public static final int BRIGHTNESS = 0, CONTRAST = 1, SATURATION = 2, HUE = 3;

    public ColorJitter {
        if (brightness < 0 || contrast < 0 || saturation < 0) throw new IllegalArgumentException("ColorJitter: strengths must be >= 0");
        if (hue < 0 || hue > 0.5) throw new IllegalArgumentException("ColorJitter: hue must be in [0, 0.5], got " + hue);
        if (p < 0 || p > 1) throw new IllegalArgumentException("ColorJitter: p must be in [0, 1]");
    }

    /**
     * The sampled jitter: whether it applies, the op order (a permutation of BRIGHTNESS..HUE) and
     * one factor per op (NaN for a disabled op: it is skipped).
     */
    public record Params(boolean applied, int[] order, double brightness, double contrast, double saturation, double hue) {
        public static final Params NONE = new Params(false, new int[]{0, 1, 2, 3}, Double.NaN, Double.NaN, Double.NaN, Double.NaN);

        public double factor(int op) {
            return switch (op) {
                case BRIGHTNESS -> brightness;
                case CONTRAST -> contrast;
                case SATURATION -> saturation;
                case HUE -> hue;
                default -> throw new IllegalArgumentException("jitter op " + op);
            };
        }
    }

    public Params sample(Rng rng) {
        if (!(rng.nextDouble() < p)) return Params.NONE; // RandomApply: applied with probability p
        int[] order = rng.permutation(4);
        double b = brightness > 0 ? rng.uniform(Math.max(0, 1 - brightness), 1 + brightness) : Double.NaN;
        double c = contrast > 0 ? rng.uniform(Math.max(0, 1 - contrast), 1 + contrast) : Double.NaN;
        double s = saturation > 0 ? rng.uniform(Math.max(0, 1 - saturation), 1 + saturation) : Double.NaN;
        double h = hue > 0 ? rng.uniform(-hue, hue) : Double.NaN;
        return new Params(true, order, b, c, s, h);
    }

    public static Image8 apply(Image8 im, Params p) {
        if (!p.applied()) return im;
        for (int op : p.order()) {
            double f = p.factor(op);
            if (Double.isNaN(f)) continue;
            im = switch (op) {
                case BRIGHTNESS -> ColorOps.brightness(im, f);
                case CONTRAST -> ColorOps.contrast(im, f);
                case SATURATION -> ColorOps.saturation(im, f);
                default -> ColorOps.hue(im, f);
            };
        }
        return im;
    }
}
