package dvp.training.data.image;

import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * PIL's {@code ImageFilter.GaussianBlur(radius=σ)}, which the MoCo v2 code applies (its
 * {@code GaussianBlur} class, σ ~ U[0.1, 2.0]). PIL does not convolve with a sampled Gaussian: it
 * runs three passes of an "extended box" filter (Gwosdek et al., fractional box radius chosen so
 * the three passes have variance σ²) horizontally, then three vertically, with 24-bit fixed-point
 * weights and rounding to 8 bits after every pass. Edge pixels are repeated.
 *
 * <p>Same arithmetic as Pillow 9.4 {@code libImaging/BoxBlur.c}, so results are bit-identical.
 * (torchvision's own {@code T.GaussianBlur} convolves with a sampled kernel and reflect padding;
 * that is a different image and not what the paper's code ran.)
 */
public final class GaussianBlurPil {
    private static final int PASSES = 3;

    private GaussianBlurPil() {}

    /** Blurs with standard deviation sigma (PIL's "radius"); sigma is taken as float32, like PIL. */
    public static Image8 blur(Image8 im, double sigma) {
        float s = (float) sigma;
        if (!(s >= 0)) throw new IllegalArgumentException("gaussian blur: sigma must be >= 0, got " + sigma);
        float r = s == 0f ? 0f : boxRadius(s, PASSES);
        if (r == 0f) return im.copy();
        int w = im.width, h = im.height, c = im.channels;
        Box box = new Box(r);
        // Every pass runs down the columns of a row-major buffer, all columns at once (contiguous,
        // vectorisable). PIL's horizontal passes come first: they run on the transposed image.
        int[] a = new int[w * h * c], b = new int[a.length];
        for (int i = 0; i < a.length; i++) b[i] = im.data[i] & 0xFF;
        transpose(b, a, w, h, c);
        int[] acc = new int[Math.max(w, h) * c];
        Plan px = new Plan(box.radius, w), py = new Plan(box.radius, h);
        for (int p = 0; p < PASSES; p++) {
            box.vertical(a, b, h * c, px, acc);
            int[] t = a; a = b; b = t;
        }
        transpose(a, b, h, w, c);
        { int[] t = a; a = b; b = t; }
        for (int p = 0; p < PASSES; p++) {
            box.vertical(a, b, w * c, py, acc);
            int[] t = a; a = b; b = t;
        }
        byte[] out = new byte[a.length];
        for (int i = 0; i < out.length; i++) out[i] = (byte) a[i];
        return new Image8(w, h, c, out);
    }

    /** dst (w rows of h pixels) = src (h rows of w pixels) transposed, c channels per pixel, in cache-sized tiles. */
    static void transpose(int[] src, int[] dst, int w, int h, int c) {
        final int T = 32;
        for (int y0 = 0; y0 < h; y0 += T) {
            int y1 = Math.min(y0 + T, h);
            for (int x0 = 0; x0 < w; x0 += T) {
                int x1 = Math.min(x0 + T, w);
                for (int x = x0; x < x1; x++) {
                    int d = (x * h + y0) * c;
                    if (c == 3) {
                        for (int y = y0, sI = (y0 * w + x) * 3; y < y1; y++, sI += w * 3, d += 3) {
                            dst[d] = src[sI];
                            dst[d + 1] = src[sI + 1];
                            dst[d + 2] = src[sI + 2];
                        }
                    } else {
                        for (int y = y0; y < y1; y++, d += c)
                            for (int k = 0; k < c; k++) dst[d + k] = src[(y * w + x) * c + k];
                    }
                }
            }
        }
    }

    /** The fractional box radius whose {@code passes}-fold box filter has variance sigma². */
    static float boxRadius(float radius, int passes) {
        float sigma2 = radius * radius / passes;
        float bigL = (float) Math.sqrt(12.0 * sigma2 + 1.0);
        float l = (float) Math.floor((bigL - 1.0) / 2.0);
        float a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2);
        a /= 6 * (sigma2 - (l + 1) * (l + 1));
        return l + a;
    }

    /**
     * Which samples PIL's line algorithm touches at each output position x of a line of n: the
     * running box sum gains in[add] and loses in[sub], and the fractional end weights apply to
     * in[farL] + in[farR]. Positions beyond the ends repeat the first/last sample; the three
     * sections are those of ImagingLineBoxBlur (including the case of a radius wider than the line).
     */
    private static final class Plan {
        final int n, edgeA;
        final int[] add, sub, farL, farR;

        Plan(int r, int n) {
            this.n = n;
            int lastx = n - 1;
            edgeA = Math.min(r + 1, n);
            int edgeB = Math.max(n - r - 1, 0);
            add = new int[n]; sub = new int[n]; farL = new int[n]; farR = new int[n];
            for (int x = 0; x < n; x++) { // the same rule covers both of PIL's cases (edgeA <= edgeB or not)
                add[x] = x < edgeB ? x + r : lastx;
                sub[x] = x < edgeA ? 0 : x - r - 1;
                farR[x] = x < edgeB ? x + r + 1 : lastx;
                farL[x] = sub[x];
            }
        }
    }

    /**
     * The extended box filter with PIL's fixed-point weights. Values are rounded to 8 bits after
     * every pass, like PIL's UINT8 output lines. PIL computes in unsigned 32-bit integers; Java's
     * int arithmetic wraps the same way and {@code >>> 24} reads the result as unsigned, so the
     * bits are identical (the true sums stay below 2^32: the weights add up to 2^24, values to 255).
     */
    private static final class Box {
        private static final VectorSpecies<Integer> S = IntVector.SPECIES_PREFERRED;
        final int radius;
        final int ww, fw;

        Box(float floatRadius) {
            radius = (int) floatRadius;
            long w = (long) (float) ((float) (1 << 24) / (floatRadius * 2 + 1));
            ww = (int) w;
            fw = (int) (((1L << 24) - (radius * 2L + 1) * w) / 2);
        }

        /** One pass down every column: n rows of rowLen elements, the plan over the rows. */
        void vertical(int[] in, int[] out, int rowLen, Plan p, int[] acc) {
            int lastRow = (p.n - 1) * rowLen;
            // acc for "row −1": the first row repeated radius+1 times, rows 0..edgeA−2, the last repeated radius−edgeA+1 times
            for (int i = 0; i < rowLen; i++) acc[i] = in[i] * (radius + 1) + in[lastRow + i] * (radius - p.edgeA + 1);
            for (int y = 0; y < p.edgeA - 1; y++) {
                int row = y * rowLen;
                for (int i = 0; i < rowLen; i++) acc[i] += in[row + i];
            }
            int ww = this.ww, fw = this.fw;
            IntVector vww = IntVector.broadcast(S, ww), vfw = IntVector.broadcast(S, fw), half = IntVector.broadcast(S, 1 << 23);
            int bound = S.loopBound(rowLen);
            for (int y = 0; y < p.n; y++) {
                int add = p.add[y] * rowLen, sub = p.sub[y] * rowLen, fl = p.farL[y] * rowLen, fr = p.farR[y] * rowLen, o = y * rowLen;
                int i = 0;
                for (; i < bound; i += S.length()) {
                    IntVector a = IntVector.fromArray(S, acc, i).add(IntVector.fromArray(S, in, add + i)).sub(IntVector.fromArray(S, in, sub + i));
                    a.intoArray(acc, i);
                    IntVector far = IntVector.fromArray(S, in, fl + i).add(IntVector.fromArray(S, in, fr + i));
                    a.mul(vww).add(far.mul(vfw)).add(half).lanewise(VectorOperators.LSHR, 24).and(0xFF).intoArray(out, o + i);
                }
                for (; i < rowLen; i++) {
                    int a = acc[i] + in[add + i] - in[sub + i];
                    acc[i] = a;
                    out[o + i] = ((a * ww + (in[fl + i] + in[fr + i]) * fw + (1 << 23)) >>> 24) & 0xFF;
                }
            }
        }
    }
}
