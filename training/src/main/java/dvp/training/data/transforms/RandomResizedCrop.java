package dvp.training.data.transforms;

import dvp.engine.Rng;

/**
 * torchvision's {@code RandomResizedCrop(size, scale, ratio)} box sampling
 * ({@code get_params}): up to 10 attempts of area fraction ~ U(scale) and log-aspect ~
 * U(log ratio), {@code w = round(√(area·ratio))}, {@code h = round(√(area/ratio))} (Python's
 * round-half-even), accepted when it fits, at a uniform position; otherwise the fallback: the
 * largest central crop whose aspect ratio is clamped into [ratio_min, ratio_max]. The crop is then
 * resized with PIL bilinear ({@link dvp.training.data.image.Resample}).
 */
public record RandomResizedCrop(double scaleMin, double scaleMax, double ratioMin, double ratioMax) {
    /** MoCo v2 "aug-plus": scale (0.2, 1). */
    public static final RandomResizedCrop MOCO = new RandomResizedCrop(0.2, 1.0, 3.0 / 4.0, 4.0 / 3.0);
    /** torchvision's defaults: scale (0.08, 1), ratio (3/4, 4/3). */
    public static final RandomResizedCrop DEFAULT = new RandomResizedCrop(0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0);

    public RandomResizedCrop {
        if (!(scaleMin > 0 && scaleMin <= scaleMax)) throw new IllegalArgumentException("RandomResizedCrop: bad scale range (" + scaleMin + ", " + scaleMax + ")");
        if (!(ratioMin > 0 && ratioMin <= ratioMax)) throw new IllegalArgumentException("RandomResizedCrop: bad ratio range (" + ratioMin + ", " + ratioMax + ")");
    }

    public CropBox sample(Rng rng, int width, int height) {
        double area = (double) height * width;
        double logLo = Math.log(ratioMin), logHi = Math.log(ratioMax);
        for (int attempt = 0; attempt < 10; attempt++) {
            double targetArea = area * rng.uniform(scaleMin, scaleMax);
            double aspect = Math.exp(rng.uniform(logLo, logHi));
            int w = (int) Math.rint(Math.sqrt(targetArea * aspect));
            int h = (int) Math.rint(Math.sqrt(targetArea / aspect));
            if (0 < w && w <= width && 0 < h && h <= height) {
                int i = rng.nextInt(height - h + 1);
                int j = rng.nextInt(width - w + 1);
                return new CropBox(i, j, h, w);
            }
        }
        return fallback(width, height);
    }

    /** The central crop torchvision uses when all 10 attempts fail. */
    public CropBox fallback(int width, int height) {
        double inRatio = (double) width / height;
        int w, h;
        if (inRatio < ratioMin) {
            w = width;
            h = (int) Math.rint(w / ratioMin);
        } else if (inRatio > ratioMax) {
            h = height;
            w = (int) Math.rint(h * ratioMax);
        } else {
            w = width;
            h = height;
        }
        return new CropBox((height - h) / 2, (width - w) / 2, h, w);
    }
}
