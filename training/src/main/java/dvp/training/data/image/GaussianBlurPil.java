package dvp.training.data.image;

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
        if (s == 0f) return im.copy();
        float r = boxRadius(s, PASSES);
        int w = im.width, h = im.height, c = im.channels;
        byte[] out = im.data.clone();
        if (r != 0f) {
            Line line = new Line(r, Math.max(w, h) * c);
            for (int y = 0; y < h; y++) {
                for (int p = 0; p < PASSES; p++) line.blur(out, y * w * c, c, w, c);
            }
            for (int x = 0; x < w; x++) {
                for (int p = 0; p < PASSES; p++) line.blur(out, x * c, w * c, h, c);
            }
        }
        return new Image8(w, h, c, out);
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
     * One pass of the extended box filter along a line of n pixels (each of c interleaved
     * channels, first pixel at data[start], next pixel step elements later), in place.
     */
    private static final class Line {
        final int radius;
        final long ww, fw;
        final int[] in;

        Line(float floatRadius, int maxLen) {
            radius = (int) floatRadius;
            ww = ((long) (float) ((float) (1 << 24) / (floatRadius * 2 + 1))) & 0xFFFFFFFFL;
            fw = (((1L << 24) - (radius * 2L + 1) * ww) & 0xFFFFFFFFL) / 2;
            in = new int[maxLen];
        }

        void blur(byte[] data, int start, int step, int n, int c) {
            for (int i = 0, p = start; i < n; i++, p += step)
                for (int k = 0; k < c; k++) in[i * c + k] = data[p + k] & 0xFF;
            int lastx = n - 1;
            int edgeA = Math.min(radius + 1, n);
            int edgeB = Math.max(n - radius - 1, 0);
            for (int k = 0; k < c; k++) {
                // acc holds the box sum for "pixel -1": the first pixel repeated radius+1 times, then 0..radius-1
                long acc = (long) in[k] * (radius + 1);
                for (int x = 0; x < edgeA - 1; x++) acc += in[x * c + k];
                acc += (long) in[lastx * c + k] * (radius - edgeA + 1);
                int p = start + k;
                if (edgeA <= edgeB) {
                    for (int x = 0; x < edgeA; x++, p += step) {
                        acc += in[(x + radius) * c + k] - in[k];
                        data[p] = save(acc, in[k] + in[(x + radius + 1) * c + k]);
                    }
                    for (int x = edgeA; x < edgeB; x++, p += step) {
                        acc += in[(x + radius) * c + k] - in[(x - radius - 1) * c + k];
                        data[p] = save(acc, in[(x - radius - 1) * c + k] + in[(x + radius + 1) * c + k]);
                    }
                    for (int x = edgeB; x <= lastx; x++, p += step) {
                        acc += in[lastx * c + k] - in[(x - radius - 1) * c + k];
                        data[p] = save(acc, in[(x - radius - 1) * c + k] + in[lastx * c + k]);
                    }
                } else {
                    for (int x = 0; x < edgeB; x++, p += step) {
                        acc += in[(x + radius) * c + k] - in[k];
                        data[p] = save(acc, in[k] + in[(x + radius + 1) * c + k]);
                    }
                    for (int x = edgeB; x < edgeA; x++, p += step) {
                        acc += in[lastx * c + k] - in[k];
                        data[p] = save(acc, in[k] + in[lastx * c + k]);
                    }
                    for (int x = edgeA; x <= lastx; x++, p += step) {
                        acc += in[lastx * c + k] - in[(x - radius - 1) * c + k];
                        data[p] = save(acc, in[(x - radius - 1) * c + k] + in[lastx * c + k]);
                    }
                }
            }
        }

        /** (acc·ww + far·fw + 2^23) >> 24 in PIL's unsigned 32-bit arithmetic. */
        private byte save(long acc, int far) {
            long bulk = ((acc & 0xFFFFFFFFL) * ww + far * fw) & 0xFFFFFFFFL;
            return (byte) (((bulk + (1 << 23)) & 0xFFFFFFFFL) >>> 24);
        }
    }
}
