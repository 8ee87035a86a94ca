package dvp.training.data;

import dvp.engine.Rng;
import dvp.training.data.image.Image8;

/**
 * Deterministic photo-like test images: smooth colour gradients, a few hard-edged shapes, fine
 * texture and noise, so resampling, blur and colour ops all see edges, flat areas and detail.
 */
public final class TestImages {
    private TestImages() {}

    public static Image8 natural(int w, int h, long seed) {
        Rng rng = new Rng(seed);
        byte[] d = new byte[w * h * 3];
        double[][] blobs = new double[6][];
        for (int b = 0; b < blobs.length; b++)
            blobs[b] = new double[]{rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.05, 0.3) * Math.min(w, h),
                    rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)};
        double fx = rng.uniform(0.05, 0.4), fy = rng.uniform(0.05, 0.4);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double r = 255.0 * x / w, g = 255.0 * y / h, bl = 128 + 100 * Math.sin(x * 0.03 + y * 0.02);
                for (double[] b : blobs) {
                    if (Math.hypot(x - b[0], y - b[1]) < b[2]) { r = b[3]; g = b[4]; bl = b[5]; }
                }
                double tex = 20 * Math.sin(x * fx) * Math.cos(y * fy);
                int i = (y * w + x) * 3;
                d[i] = (byte) clamp(r + tex + rng.uniform(-12, 12));
                d[i + 1] = (byte) clamp(g - tex + rng.uniform(-12, 12));
                d[i + 2] = (byte) clamp(bl + tex * 0.5 + rng.uniform(-12, 12));
            }
        }
        // a saturated stripe and pure black/white corners to exercise clipping
        for (int y = 0; y < Math.min(h, 6); y++) for (int x = 0; x < Math.min(w, 6); x++) { int i = (y * w + x) * 3; d[i] = d[i + 1] = d[i + 2] = (byte) 255; }
        for (int x = 0; x < w; x++) { int i = ((h / 2) * w + x) * 3; d[i] = (byte) 255; d[i + 1] = 0; d[i + 2] = 0; }
        return new Image8(w, h, 3, d);
    }

    private static int clamp(double v) { return (int) Math.max(0, Math.min(255, Math.round(v))); }
}
