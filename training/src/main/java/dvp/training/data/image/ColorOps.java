package dvp.training.data.image;

/**
 * The colour operations of torchvision's {@code ColorJitter} and {@code RandomGrayscale} on PIL
 * images, with Pillow 9.4's integer/float arithmetic, so results are bit-identical to
 * {@code torchvision.transforms.functional} on a PIL image:
 * <ul>
 *   <li>grayscale = PIL {@code convert("L")}: (19595 R + 38470 G + 7471 B + 2^15) >> 16;</li>
 *   <li>brightness, contrast, saturation = {@code ImageEnhance} = {@code Image.blend(degenerate,
 *       img, f)}: {@code d + f (x - d)} in float32, truncated (clamped when f is outside [0, 1]);
 *       degenerate = black, the rounded mean of the grayscale image, the grayscale image;</li>
 *   <li>hue = RGB → HSV (PIL's 8-bit HSV) → add {@code uint8(f·255)} to H with wrap-around → RGB.</li>
 * </ul>
 * One-channel (L) images follow PIL: saturation and hue leave them unchanged.
 */
public final class ColorOps {
    private ColorOps() {}

    /** PIL's ITU-R 601-2 luma of one RGB pixel. */
    public static int luma(int r, int g, int b) { return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16; }

    /** F.rgb_to_grayscale(img, num_output_channels): 1 gives an L image, 3 repeats L in R, G, B. */
    public static Image8 grayscale(Image8 im, int outChannels) {
        if (outChannels != 1 && outChannels != 3) throw new IllegalArgumentException("grayscale: output channels must be 1 or 3");
        int n = im.width * im.height;
        byte[] out = new byte[n * outChannels];
        byte[] d = im.data;
        for (int i = 0; i < n; i++) {
            int l = im.channels == 3 ? luma(d[3 * i] & 0xFF, d[3 * i + 1] & 0xFF, d[3 * i + 2] & 0xFF) : d[i] & 0xFF;
            if (outChannels == 1) out[i] = (byte) l;
            else { out[3 * i] = (byte) l; out[3 * i + 1] = (byte) l; out[3 * i + 2] = (byte) l; }
        }
        return new Image8(im.width, im.height, outChannels, out);
    }

    /** One Image.blend element: degenerate d, image x, factor alpha (float32 as PIL passes it). */
    static int blend(int d, int x, float alpha, boolean clamp) {
        float v = d + alpha * (x - d);
        if (!clamp) return (int) v;
        return v <= 0f ? 0 : v >= 255f ? 255 : (int) v;
    }

    private static boolean needsClamp(float a) { return !(a >= 0f && a <= 1f); }

    /** ImageEnhance.Brightness(img).enhance(f): blend with black. */
    public static Image8 brightness(Image8 im, double factor) {
        float a = (float) factor;
        boolean clamp = needsClamp(a);
        int[] lut = new int[256];
        for (int v = 0; v < 256; v++) lut[v] = blend(0, v, a, clamp);
        return applyLut(im, lut);
    }

    /** ImageEnhance.Contrast(img).enhance(f): blend with the rounded mean of the grayscale image. */
    public static Image8 contrast(Image8 im, double factor) {
        float a = (float) factor;
        boolean clamp = needsClamp(a);
        int mean = grayMean(im);
        int[] lut = new int[256];
        for (int v = 0; v < 256; v++) lut[v] = blend(mean, v, a, clamp);
        return applyLut(im, lut);
    }

    /** int(ImageStat.Stat(img.convert("L")).mean[0] + 0.5). */
    public static int grayMean(Image8 im) {
        long sum = 0;
        byte[] d = im.data;
        int n = im.width * im.height;
        if (im.channels == 3) for (int i = 0; i < n; i++) sum += luma(d[3 * i] & 0xFF, d[3 * i + 1] & 0xFF, d[3 * i + 2] & 0xFF);
        else for (int i = 0; i < n; i++) sum += d[i] & 0xFF;
        return (int) ((double) sum / n + 0.5);
    }

    /** ImageEnhance.Color(img).enhance(f): blend with the grayscale image (per pixel). */
    public static Image8 saturation(Image8 im, double factor) {
        if (im.channels == 1) return im.copy();
        float a = (float) factor;
        boolean clamp = needsClamp(a);
        byte[] d = im.data, out = new byte[d.length];
        for (int i = 0; i < d.length; i += 3) {
            int r = d[i] & 0xFF, g = d[i + 1] & 0xFF, b = d[i + 2] & 0xFF;
            int l = luma(r, g, b);
            out[i] = (byte) blend(l, r, a, clamp);
            out[i + 1] = (byte) blend(l, g, a, clamp);
            out[i + 2] = (byte) blend(l, b, a, clamp);
        }
        return new Image8(im.width, im.height, 3, out);
    }

    /**
     * F.adjust_hue(img, f) for f in [-0.5, 0.5]: H += uint8(f·255) (numpy's float→uint8 cast:
     * truncation toward zero, then modulo 256 for negative values), in PIL's 8-bit HSV.
     */
    public static Image8 hue(Image8 im, double factor) {
        if (!(factor >= -0.5 && factor <= 0.5)) throw new IllegalArgumentException("hue factor " + factor + " is not in [-0.5, 0.5]");
        if (im.channels == 1) return im.copy();
        int shift = ((int) (factor * 255)) & 0xFF;
        byte[] d = im.data, out = new byte[d.length];
        for (int i = 0; i < d.length; i += 3) {
            int r = d[i] & 0xFF, g = d[i + 1] & 0xFF, b = d[i + 2] & 0xFF;
            int max = Math.max(r, Math.max(g, b)), min = Math.min(r, Math.min(g, b));
            if (max == min) { // s = 0: hue is 0 and the RGB round trip gives v, v, v
                out[i] = out[i + 1] = out[i + 2] = (byte) max;
                continue;
            }
            float cr = max - min;
            float s = cr / (float) max;
            float h;
            if (r == max) h = (max - b) / cr - (max - g) / cr;
            else if (g == max) h = (float) (2.0 + (max - r) / cr - (max - b) / cr);
            else h = (float) (4.0 + (max - g) / cr - (max - r) / cr);
            // fmod(h/6 + 1, 1) for a value in (0.8, 2): subtracting 1 is exact there (and far cheaper)
            double hw = h / 6.0 + 1.0;
            h = (float) (hw >= 1.0 ? hw - 1.0 : hw);
            int uh = clip8((int) (h * 255.0));
            int us = clip8((int) (s * 255.0));
            hsvToRgb((uh + shift) & 0xFF, us, max, out, i);
        }
        return new Image8(im.width, im.height, 3, out);
    }

    // hsv2rgb's per-h and per-s terms, precomputed with PIL's exact float/double expressions
    private static final int[] SECTOR = new int[256];
    private static final float[] FRACTION = new float[256], SAT = new float[256];

    static {
        for (int v = 0; v < 256; v++) {
            SECTOR[v] = (int) Math.floor((float) v * 6.0 / 255.0);
            FRACTION[v] = (float) ((float) v * 6.0 / 255.0 - (float) SECTOR[v]);
            SAT[v] = (float) (((float) v) / 255.0);
        }
    }

    /** PIL's hsv2rgb for one pixel, written at out[o..o+2]. */
    static void hsvToRgb(int h, int s, int v, byte[] out, int o) {
        if (s == 0) {
            out[o] = out[o + 1] = out[o + 2] = (byte) v;
            return;
        }
        int i = SECTOR[h];
        float f = FRACTION[h];
        float fs = SAT[s];
        // C's round() of a non-negative double: floor(x + 0.5) is exact here because each x is a
        // product of an 8-bit integer and a value with at most 48 significant bits
        int p = clip8((int) ((float) v * (1.0 - fs) + 0.5));
        int q = clip8((int) ((float) v * (1.0 - fs * f) + 0.5));
        int t = clip8((int) ((float) v * (1.0 - fs * (1.0 - f)) + 0.5));
        int r, g, b;
        switch (i % 6) {
            case 0 -> { r = v; g = t; b = p; }
            case 1 -> { r = q; g = v; b = p; }
            case 2 -> { r = p; g = v; b = t; }
            case 3 -> { r = p; g = q; b = v; }
            case 4 -> { r = t; g = p; b = v; }
            default -> { r = v; g = p; b = q; }
        }
        out[o] = (byte) r;
        out[o + 1] = (byte) g;
        out[o + 2] = (byte) b;
    }

    static int clip8(int v) { return v < 0 ? 0 : Math.min(v, 255); }

    /** Image.point with one 256-entry table for every channel. */
    public static Image8 applyLut(Image8 im, int[] lut) {
        byte[] d = im.data, out = new byte[d.length];
        byte[] t = new byte[256];
        for (int i = 0; i < 256; i++) t[i] = (byte) lut[i];
        for (int i = 0; i < d.length; i++) out[i] = t[d[i] & 0xFF];
        return new Image8(im.width, im.height, im.channels, out);
    }

    /** Image.point with one table per channel (luts[c][v]). */
    public static Image8 applyLuts(Image8 im, int[][] luts) {
        int c = im.channels;
        byte[] d = im.data, out = new byte[d.length];
        byte[][] t = new byte[c][256];
        for (int k = 0; k < c; k++) for (int i = 0; i < 256; i++) t[k][i] = (byte) luts[k][i];
        for (int i = 0; i < d.length; i++) out[i] = t[i % c][d[i] & 0xFF];
        return new Image8(im.width, im.height, c, out);
    }
}
