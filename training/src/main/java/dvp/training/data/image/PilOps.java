package dvp.training.data.image;

/**
 * The PIL {@code ImageOps}/{@code ImageEnhance} operations AutoAugment uses, as in Pillow 9.4:
 * invert, posterize, solarize, autocontrast, equalize (per-channel histograms, Python's integer
 * arithmetic) and sharpness (blend with the 3×3 SMOOTH filter, border pixels unfiltered).
 */
public final class PilOps {
    private PilOps() {}

    public static Image8 invert(Image8 im) {
        int[] lut = new int[256];
        for (int i = 0; i < 256; i++) lut[i] = 255 - i;
        return ColorOps.applyLut(im, lut);
    }

    /** ImageOps.posterize: keep the top {@code bits} bits. */
    public static Image8 posterize(Image8 im, int bits) {
        if (bits < 0 || bits > 8) throw new IllegalArgumentException("posterize: bits " + bits);
        int mask = ~((1 << (8 - bits)) - 1);
        int[] lut = new int[256];
        for (int i = 0; i < 256; i++) lut[i] = i & mask & 0xFF;
        return ColorOps.applyLut(im, lut);
    }

    /** ImageOps.solarize: invert every value at or above threshold (a float threshold compares as such). */
    public static Image8 solarize(Image8 im, double threshold) {
        int[] lut = new int[256];
        for (int i = 0; i < 256; i++) lut[i] = i < threshold ? i : 255 - i;
        return ColorOps.applyLut(im, lut);
    }

    private static int[][] histograms(Image8 im) {
        int c = im.channels;
        int[][] h = new int[c][256];
        byte[] d = im.data;
        for (int i = 0; i < d.length; i++) h[i % c][d[i] & 0xFF]++;
        return h;
    }

    /** ImageOps.autocontrast(img) with cutoff 0: stretch each channel's [min, max] to [0, 255]. */
    public static Image8 autocontrast(Image8 im) {
        int[][] hist = histograms(im);
        int[][] luts = new int[im.channels][256];
        for (int k = 0; k < im.channels; k++) {
            int[] h = hist[k];
            int lo = 0, hi = 255;
            while (lo < 255 && h[lo] == 0) lo++;
            while (hi > 0 && h[hi] == 0) hi--;
            if (hi <= lo) {
                for (int i = 0; i < 256; i++) luts[k][i] = i;
            } else {
                double scale = 255.0 / (hi - lo);
                double offset = -lo * scale;
                for (int i = 0; i < 256; i++) {
                    int v = (int) (i * scale + offset);
                    luts[k][i] = v < 0 ? 0 : Math.min(v, 255);
                }
            }
        }
        return ColorOps.applyLuts(im, luts);
    }

    /** ImageOps.equalize: per-channel histogram equalisation with PIL's step rule. */
    public static Image8 equalize(Image8 im) {
        int[][] hist = histograms(im);
        int[][] luts = new int[im.channels][256];
        for (int k = 0; k < im.channels; k++) {
            int[] h = hist[k];
            long total = 0, last = 0;
            int nonZero = 0;
            for (int i = 0; i < 256; i++) if (h[i] != 0) { nonZero++; total += h[i]; last = h[i]; }
            long step = nonZero <= 1 ? 0 : (total - last) / 255;
            if (step == 0) {
                for (int i = 0; i < 256; i++) luts[k][i] = i;
            } else {
                long n = step / 2;
                for (int i = 0; i < 256; i++) {
                    luts[k][i] = (int) Math.min(n / step, 255); // PIL's point() clamps table entries to 255
                    n += h[i];
                }
            }
        }
        return ColorOps.applyLuts(im, luts);
    }

    /** ImageEnhance.Sharpness(img).enhance(f): blend(SMOOTH(img), img, f). */
    public static Image8 sharpness(Image8 im, double factor) {
        Image8 smooth = smooth(im);
        float a = (float) factor;
        boolean clamp = !(a >= 0f && a <= 1f);
        byte[] d = im.data, s = smooth.data, out = new byte[d.length];
        for (int i = 0; i < d.length; i++) out[i] = (byte) ColorOps.blend(s[i] & 0xFF, d[i] & 0xFF, a, clamp);
        return new Image8(im.width, im.height, im.channels, out);
    }

    /** ImageFilter.SMOOTH: 3×3 kernel (1 1 1 / 1 5 1 / 1 1 1)/13 in float32, +0.5, truncated; border rows/columns copied. */
    static Image8 smooth(Image8 im) {
        int w = im.width, h = im.height, c = im.channels;
        byte[] d = im.data, out = d.clone();
        if (w < 3 || h < 3) return new Image8(w, h, c, out);
        float k1 = 1f / 13f, k5 = 5f / 13f;
        int stride = w * c;
        for (int y = 1; y < h - 1; y++) {
            for (int x = 1; x < w - 1; x++) {
                for (int k = 0; k < c; k++) {
                    int p = y * stride + x * c + k;
                    // PIL sums the row below first (kernel rows in reverse), each row left to right
                    float ss = 0.5f;
                    ss += row3(d, p + stride, c, k1, k1, k1);
                    ss += row3(d, p, c, k1, k5, k1);
                    ss += row3(d, p - stride, c, k1, k1, k1);
                    out[p] = (byte) (ss <= 0f ? 0 : ss >= 255f ? 255 : (int) ss);
                }
            }
        }
        return new Image8(w, h, c, out);
    }

    private static float row3(byte[] d, int p, int c, float a, float b, float e) {
        return (d[p - c] & 0xFF) * a + (d[p] & 0xFF) * b + (d[p + c] & 0xFF) * e;
    }
}
