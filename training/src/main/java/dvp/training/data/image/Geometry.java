package dvp.training.data.image;

/**
 * Crops, flips and the affine warps AutoAugment uses, each matching the library the original code
 * called:
 * <ul>
 *   <li>{@link #crop}: PIL {@code img.crop(box)} — pixels outside the image are 0 (torchvision's
 *       {@code center_crop} pads with 0 the same way);</li>
 *   <li>{@link #affineNearest}: PIL {@code img.transform(size, AFFINE, matrix, NEAREST,
 *       fillcolor=fill)} with PIL's 16.16 fixed-point stepping (what torchvision's PIL
 *       {@code F.affine}/{@code F.rotate} run);</li>
 *   <li>{@link #affineCubicSpline}: {@code scipy.ndimage.affine_transform(channel, M, offset)}
 *       with its defaults (cubic B-spline, mirror-boundary prefilter, {@code mode='constant'},
 *       cval 0, rounding to uint8) — the warp of the DVP/4uiiurz1 AutoAugment.</li>
 * </ul>
 */
public final class Geometry {
    private Geometry() {}

    /** The w×h window at (left, top); outside the image is 0 (black). */
    public static Image8 crop(Image8 im, int left, int top, int w, int h) {
        if (w <= 0 || h <= 0) throw new IllegalArgumentException("crop: size " + w + "x" + h);
        int c = im.channels;
        byte[] out = new byte[w * h * c];
        int x0 = Math.max(left, 0), x1 = Math.min(left + w, im.width);
        if (x1 > x0) {
            for (int y = 0; y < h; y++) {
                int sy = top + y;
                if (sy < 0 || sy >= im.height) continue;
                System.arraycopy(im.data, (sy * im.width + x0) * c, out, (y * w + x0 - left) * c, (x1 - x0) * c);
            }
        }
        return new Image8(w, h, c, out);
    }

    /** Mirror left-right. */
    public static Image8 hflip(Image8 im) {
        int w = im.width, c = im.channels;
        byte[] d = im.data, out = new byte[d.length];
        for (int y = 0; y < im.height; y++) {
            int row = y * w * c;
            if (c == 3) {
                for (int s = row, t = row + (w - 1) * 3; t >= row; s += 3, t -= 3) {
                    out[t] = d[s];
                    out[t + 1] = d[s + 1];
                    out[t + 2] = d[s + 2];
                }
            } else {
                for (int x = 0; x < w; x++) out[row + w - 1 - x] = d[row + x];
            }
        }
        return new Image8(w, im.height, c, out);
    }

    /**
     * PIL affine transform with nearest-neighbour sampling: output pixel (x, y) reads input
     * (a0·x' + a1·y' + a2, a3·x' + a4·y' + a5) at pixel centres x' = x + ½; out-of-image → fill.
     */
    public static Image8 affineNearest(Image8 im, double[] a, int fill) {
        int w = im.width, h = im.height, c = im.channels;
        byte[] out = new byte[w * h * c];
        if (fill != 0) java.util.Arrays.fill(out, (byte) fill);
        byte[] d = im.data;
        if (a[1] == 0 && a[3] == 0) { // PIL's "scale" path (translations): pretabulated columns, double math
            int[] xin = new int[w];
            double xo = a[2] + a[0] * 0.5;
            for (int x = 0; x < w; x++, xo += a[0]) xin[x] = coord(xo);
            double yo = a[5] + a[4] * 0.5;
            for (int y = 0; y < h; y++, yo += a[4]) {
                int yi = coord(yo);
                if (yi < 0 || yi >= h) continue;
                for (int x = 0; x < w; x++) {
                    if (xin[x] < 0 || xin[x] >= w) continue;
                    System.arraycopy(d, (yi * w + xin[x]) * c, out, (y * w + x) * c, c);
                }
            }
            return new Image8(w, h, c, out);
        }
        boolean fixed = fitsFixed(a, 0, 0) && fitsFixed(a, w, h) && fitsFixed(a, 0, h) && fitsFixed(a, w, 0);
        if (!fixed) throw new IllegalArgumentException("affine: matrix moves pixels beyond PIL's 16.16 fixed-point range");
        int a0 = fix(a[0]), a1 = fix(a[1]), a3 = fix(a[3]), a4 = fix(a[4]);
        int a2 = fix(a[2] + a[0] * 0.5 + a[1] * 0.5), a5 = fix(a[5] + a[3] * 0.5 + a[4] * 0.5);
        for (int y = 0; y < h; y++, a2 += a1, a5 += a4) {
            int xx = a2, yy = a5;
            for (int x = 0; x < w; x++, xx += a0, yy += a3) {
                int xi = xx >> 16, yi = yy >> 16;
                if (xi >= 0 && xi < w && yi >= 0 && yi < h) System.arraycopy(d, (yi * w + xi) * c, out, (y * w + x) * c, c);
            }
        }
        return new Image8(w, h, c, out);
    }

    private static int coord(double v) { return v < 0.0 ? -1 : (int) v; }

    private static int fix(double v) { return (int) Math.floor(v * 65536.0 + 0.5); }

    private static boolean fitsFixed(double[] a, int x, int y) {
        return Math.abs(x * a[0] + y * a[1] + a[2]) < 32768.0 && Math.abs(x * a[3] + y * a[4] + a[5]) < 32768.0;
    }

    /**
     * scipy.ndimage.affine_transform of every channel, in (row, col) coordinates: output (r, c)
     * samples input {@code m·(r, c) + offset} with a cubic B-spline; points outside
     * [0, H−1] × [0, W−1] are 0. m is {m00, m01, m10, m11}.
     */
    public static Image8 affineCubicSpline(Image8 im, double[] m, double[] offset) {
        int w = im.width, h = im.height, c = im.channels;
        byte[] out = new byte[w * h * c];
        double[] coef = new double[w * h];
        double[] wr = new double[4], wc = new double[4];
        int[] ir = new int[4], ic = new int[4];
        for (int k = 0; k < c; k++) {
            for (int i = 0; i < w * h; i++) coef[i] = im.data[i * c + k] & 0xFF;
            SplinePrefilter.cubicMirror2d(coef, h, w);
            for (int r = 0; r < h; r++) {
                for (int col = 0; col < w; col++) {
                    double cr = m[0] * r + m[1] * col + offset[0];
                    double cc = m[2] * r + m[3] * col + offset[1];
                    if (cr < 0 || cr > h - 1 || cc < 0 || cc > w - 1) continue; // constant mode: cval 0
                    int sr = splineTaps(cr, h, wr, ir), sc = splineTaps(cc, w, wc, ic);
                    double t = 0;
                    for (int a = 0; a < 4; a++) {
                        int rowOff = ir[a] * w;
                        for (int b = 0; b < 4; b++) t += coef[rowOff + ic[b]] * wr[a] * wc[b];
                    }
                    out[(r * w + col) * c + k] = (byte) toUint8(t);
                }
            }
        }
        return new Image8(w, h, c, out);
    }

    /** scipy's uint8 output cast: t > 0 ? t + 0.5 : 0, clamped to 255, truncated. */
    private static int toUint8(double t) {
        t = t > 0 ? t + 0.5 : 0;
        if (t > 255) t = 255;
        return (int) t;
    }

    /** Cubic B-spline weights at x and the 4 mirrored tap indices; returns the first tap. */
    private static int splineTaps(double x, int len, double[] wts, int[] idx) {
        int start = (int) Math.floor(x) - 1;
        for (int hh = 0; hh < 4; hh++) {
            double y = Math.abs(start - x + hh);
            if (y < 1.0) wts[hh] = (y * y * (y - 2.0) * 3.0 + 4.0) / 6.0;
            else if (y < 2.0) { y = 2.0 - y; wts[hh] = y * y * y / 6.0; }
            else wts[hh] = 0.0;
            idx[hh] = mirror(start + hh, len);
        }
        return start;
    }

    /** scipy's mirror (whole-sample symmetric) index mapping. */
    static int mirror(int i, int len) {
        if (len <= 1) return 0;
        int s2 = 2 * len - 2;
        if (i < 0) {
            i = s2 * (-i / s2) + i;
            return i <= 1 - len ? i + s2 : -i;
        }
        if (i >= len) {
            i -= s2 * (i / s2);
            if (i >= len) i = s2 - i;
        }
        return i;
    }
}
