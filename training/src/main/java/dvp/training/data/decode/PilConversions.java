package dvp.training.data.decode;

/** Pixel conversions of PIL's {@code convert("RGB")} that decoders need. */
final class PilConversions {
    private PilConversions() {}

    /**
     * CMYK as stored in an Adobe JPEG (inverted: 255 = no ink) → RGB, as PIL does: it unpacks
     * with "CMYK;I" (un-inverting) and converts with R = (255−K) − C·(255−K)/255 (rounded MULDIV255).
     */
    static void adobeCmykToRgb(byte[] cmyk, int pixels, byte[] rgb) {
        for (int i = 0; i < pixels; i++) {
            int nk = cmyk[4 * i + 3] & 0xFF; // 255 - K, with K = 255 - stored
            for (int k = 0; k < 3; k++) {
                int c = 255 - (cmyk[4 * i + k] & 0xFF);
                int t = c * nk + 128;
                int v = nk - (((t >> 8) + t) >> 8);
                rgb[3 * i + k] = (byte) (v < 0 ? 0 : Math.min(v, 255));
            }
        }
    }

    /** The Adobe APP14 colour transform flag of a JPEG (0 CMYK/RGB, 1 YCbCr, 2 YCCK), or -1 without the marker. */
    static int adobeTransform(byte[] jpeg) {
        int p = 2;
        while (p + 4 <= jpeg.length) {
            if ((jpeg[p] & 0xFF) != 0xFF) return -1;
            int marker = jpeg[p + 1] & 0xFF;
            if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { p += 2; continue; }
            if (marker == 0xDA || marker == 0xD9) return -1; // start of scan: no more headers
            int len = ((jpeg[p + 2] & 0xFF) << 8) | (jpeg[p + 3] & 0xFF);
            if (marker == 0xEE && len >= 14 && p + 4 + 12 <= jpeg.length
                    && jpeg[p + 4] == 'A' && jpeg[p + 5] == 'd' && jpeg[p + 6] == 'o' && jpeg[p + 7] == 'b' && jpeg[p + 8] == 'e')
                return jpeg[p + 4 + 11] & 0xFF;
            p += 2 + len;
        }
        return -1;
    }

    /** The number of colour components in a JPEG's frame header (SOFn), or -1 when none is found. */
    static int jpegComponents(byte[] jpeg) {
        int p = 2;
        while (p + 4 <= jpeg.length) {
            if ((jpeg[p] & 0xFF) != 0xFF) return -1;
            int marker = jpeg[p + 1] & 0xFF;
            if (marker == 0xFF) { p++; continue; } // fill byte
            if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { p += 2; continue; }
            if (marker == 0xDA || marker == 0xD9) return -1;
            int len = ((jpeg[p + 2] & 0xFF) << 8) | (jpeg[p + 3] & 0xFF);
            boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (sof) return p + 9 < jpeg.length ? jpeg[p + 9] & 0xFF : -1;
            p += 2 + len;
        }
        return -1;
    }

    /** JFIF YCbCr → RGB for one pixel (libjpeg's formulas, rounded), used for YCCK. */
    static int[] yccToRgb(int y, int cb, int cr) {
        double r = y + 1.402 * (cr - 128), g = y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128), b = y + 1.772 * (cb - 128);
        return new int[]{clamp(r), clamp(g), clamp(b)};
    }

    private static int clamp(double v) { return (int) Math.max(0, Math.min(255, Math.round(v))); }

    static boolean isJpeg(byte[] d) { return d.length >= 3 && (d[0] & 0xFF) == 0xFF && (d[1] & 0xFF) == 0xD8 && (d[2] & 0xFF) == 0xFF; }
}
