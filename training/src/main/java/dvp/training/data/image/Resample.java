package dvp.training.data.image;

/**
 * PIL's {@code Image.resize} with the BILINEAR filter (antialiased: the triangle filter's support
 * widens with the down-scaling factor), which is what torchvision's {@code Resize} and
 * {@code RandomResizedCrop} do on PIL images. Not the tensor path of torchvision
 * ({@code F.interpolate}, no antialias by default), which gives visibly different pixels when
 * down-scaling.
 *
 * <p>Same arithmetic as Pillow 9.4 {@code libImaging/Resample.c}: filter weights in double,
 * normalised per output pixel, rounded to 22-bit fixed point; a horizontal pass over only the
 * rows the vertical pass needs, rounded and clamped to 8 bits, then a vertical pass. The result is
 * bit-identical to Pillow's for 8-bit images.
 *
 * <p>The source window is a crop of a larger image ({@code crop*}), so crop-then-resize costs no
 * copy; filter support is clipped at the crop's edges exactly as if the crop had been copied out
 * first (torchvision's {@code resized_crop} crops, then resizes). The box inside the crop may be
 * fractional (PIL's {@code box=} argument), used when the decoder already shrank the image.
 */
public final class Resample {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private Resample() {}

    /** Resizes the whole image to outW × outH (PIL {@code img.resize((outW, outH), BILINEAR)}). */
    public static Image8 resize(Image8 src, int outW, int outH) {
        return resizedCrop(src, 0, 0, src.width, src.height, outW, outH);
    }

    /** torchvision {@code F.resized_crop(img, top, left, h, w, [outH, outW])} on a PIL image. */
    public static Image8 resizedCrop(Image8 src, int left, int top, int w, int h, int outW, int outH) {
        return resize(src, left, top, w, h, 0f, 0f, w, h, outW, outH);
    }

    /**
     * Resizes the part {@code [box0x, box1x) × [box0y, box1y)} of the crop window
     * {@code (cropX, cropY, cropW, cropH)} of src (box coordinates relative to the crop, as PIL's
     * float box) to outW × outH.
     */
    public static Image8 resize(Image8 src, int cropX, int cropY, int cropW, int cropH,
                                float box0x, float box0y, float box1x, float box1y, int outW, int outH) {
        if (cropX < 0 || cropY < 0 || cropW <= 0 || cropH <= 0 || cropX + cropW > src.width || cropY + cropH > src.height)
            throw new IllegalArgumentException("resize: crop (" + cropX + "," + cropY + " " + cropW + "x" + cropH + ") outside " + src);
        if (outW <= 0 || outH <= 0) throw new IllegalArgumentException("resize: output size " + outW + "x" + outH);
        if (box0x < 0 || box0y < 0 || box1x > cropW || box1y > cropH || box1x <= box0x || box1y <= box0y)
            throw new IllegalArgumentException("resize: box outside crop " + cropW + "x" + cropH);
        int c = src.channels;
        // PIL's quirk kept verbatim: box[2] is compared with the output size, not the input size.
        boolean needH = outW != cropW || box0x != 0 || box1x != outW;
        boolean needV = outH != cropH || box0y != 0 || box1y != outH;

        Coeffs vert = Coeffs.bilinear(cropH, box0y, box1y, outH);
        int yFirst = vert.bounds[0];
        int yLast = vert.bounds[2 * outH - 2] + vert.bounds[2 * outH - 1];

        // Stage 1: horizontal pass (or a plain copy of the crop) into rows [yFirst, yLast).
        byte[] mid;
        int midW, midRows, midRow0;
        if (needH) {
            Coeffs hor = Coeffs.bilinear(cropW, box0x, box1x, outW);
            midW = outW;
            midRows = yLast - yFirst;
            midRow0 = yFirst;
            mid = new byte[midW * midRows * c];
            horizontal(src, cropX, cropY + yFirst, midRows, hor, mid, outW);
        } else {
            midW = cropW;
            midRows = cropH;
            midRow0 = 0;
            mid = new byte[cropW * cropH * c];
            for (int y = 0; y < cropH; y++)
                System.arraycopy(src.data, ((cropY + y) * src.width + cropX) * c, mid, y * cropW * c, cropW * c);
        }
        if (!needV) {
            if (midRows != outH) throw new AssertionError("resize: no vertical pass but " + midRows + " rows");
            return new Image8(midW, outH, c, mid);
        }
        byte[] out = new byte[midW * outH * c];
        vertical(mid, midW * c, midRow0, vert, out, outH);
        return new Image8(midW, outH, c, out);
    }

    private static void horizontal(Image8 src, int x0, int y0, int rows, Coeffs k, byte[] out, int outW) {
        int c = src.channels, srcStride = src.width * c, ks = k.ksize;
        byte[] s = src.data;
        int[] kk = k.fixed;
        int half = 1 << (PRECISION_BITS - 1);
        int o = 0;
        if (c == 3) {
            for (int y = 0; y < rows; y++) {
                int rowBase = (y0 + y) * srcStride + x0 * 3;
                for (int xx = 0; xx < outW; xx++) {
                    int xmin = k.bounds[2 * xx], n = k.bounds[2 * xx + 1], kb = xx * ks;
                    int s0 = half, s1 = half, s2 = half;
                    int p = rowBase + xmin * 3;
                    for (int t = 0; t < n; t++, p += 3) {
                        int w = kk[kb + t];
                        s0 += (s[p] & 0xFF) * w;
                        s1 += (s[p + 1] & 0xFF) * w;
                        s2 += (s[p + 2] & 0xFF) * w;
                    }
                    out[o++] = clip8(s0);
                    out[o++] = clip8(s1);
                    out[o++] = clip8(s2);
                }
            }
        } else {
            for (int y = 0; y < rows; y++) {
                int rowBase = (y0 + y) * srcStride + x0;
                for (int xx = 0; xx < outW; xx++) {
                    int xmin = k.bounds[2 * xx], n = k.bounds[2 * xx + 1], kb = xx * ks;
                    int s0 = half;
                    for (int t = 0; t < n; t++) s0 += (s[rowBase + xmin + t] & 0xFF) * kk[kb + t];
                    out[o++] = clip8(s0);
                }
            }
        }
    }

    /** in holds rows [row0, ...) of the horizontally resampled image; rowLen = width*channels. */
    private static void vertical(byte[] in, int rowLen, int row0, Coeffs k, byte[] out, int outH) {
        int[] acc = new int[rowLen];
        int half = 1 << (PRECISION_BITS - 1);
        for (int yy = 0; yy < outH; yy++) {
            int ymin = k.bounds[2 * yy] - row0, n = k.bounds[2 * yy + 1], kb = yy * k.ksize;
            java.util.Arrays.fill(acc, half);
            for (int t = 0; t < n; t++) {
                int w = k.fixed[kb + t];
                int base = (ymin + t) * rowLen;
                for (int i = 0; i < rowLen; i++) acc[i] += (in[base + i] & 0xFF) * w;
            }
            int ob = yy * rowLen;
            for (int i = 0; i < rowLen; i++) out[ob + i] = clip8(acc[i]);
        }
    }

    private static byte clip8(int ss) {
        int v = ss >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** Per-output-pixel filter taps: first input index, tap count, and fixed-point weights. */
    static final class Coeffs {
        final int ksize;
        final int[] bounds; // [2*out]: xmin, count
        final int[] fixed;  // [out*ksize]

        private Coeffs(int ksize, int[] bounds, int[] fixed) {
            this.ksize = ksize;
            this.bounds = bounds;
            this.fixed = fixed;
        }

        static Coeffs bilinear(int inSize, float in0, float in1, int outSize) {
            double scale = (double) (in1 - in0) / outSize;
            double filterscale = Math.max(scale, 1.0);
            double support = 1.0 * filterscale;
            int ksize = (int) Math.ceil(support) * 2 + 1;
            int[] bounds = new int[outSize * 2];
            int[] fixed = new int[outSize * ksize];
            double[] w = new double[ksize];
            for (int xx = 0; xx < outSize; xx++) {
                double center = in0 + (xx + 0.5) * scale;
                double ss = 1.0 / filterscale;
                int xmin = (int) (center - support + 0.5);
                if (xmin < 0) xmin = 0;
                int xmax = (int) (center + support + 0.5);
                if (xmax > inSize) xmax = inSize;
                xmax -= xmin;
                double ww = 0;
                for (int x = 0; x < xmax; x++) {
                    double d = Math.abs((x + xmin - center + 0.5) * ss);
                    w[x] = d < 1.0 ? 1.0 - d : 0.0;
                    ww += w[x];
                }
                for (int x = 0; x < xmax; x++) {
                    double v = ww != 0.0 ? w[x] / ww : w[x];
                    fixed[xx * ksize + x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS)) : (int) (0.5 + v * (1 << PRECISION_BITS));
                }
                bounds[2 * xx] = xmin;
                bounds[2 * xx + 1] = Math.max(xmax, 0);
            }
            return new Coeffs(ksize, bounds, fixed);
        }
    }
}
