package dvp.training.data.image;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ColorOpsTest {
    /** PIL's hsv2rgb written with C's round(), as in libImaging/Convert.c. */
    static int[] referenceHsvToRgb(int h, int s, int v) {
        if (s == 0) return new int[]{v, v, v};
        int i = (int) Math.floor((float) h * 6.0 / 255.0);
        float f = (float) ((float) h * 6.0 / 255.0 - (float) i);
        float fs = (float) (((float) s) / 255.0);
        int p = ColorOps.clip8((int) Math.round((float) v * (1.0 - fs)));
        int q = ColorOps.clip8((int) Math.round((float) v * (1.0 - fs * f)));
        int t = ColorOps.clip8((int) Math.round((float) v * (1.0 - fs * (1.0 - f))));
        return switch (i % 6) {
            case 0 -> new int[]{v, t, p};
            case 1 -> new int[]{q, v, p};
            case 2 -> new int[]{p, v, t};
            case 3 -> new int[]{p, q, v};
            case 4 -> new int[]{t, p, v};
            default -> new int[]{v, p, q};
        };
    }

    @Test
    void fastHsvToRgbEqualsPilsFormulaForEveryInput() {
        byte[] out = new byte[3];
        for (int h = 0; h < 256; h++)
            for (int s = 0; s < 256; s++)
                for (int v = 0; v < 256; v++) {
                    ColorOps.hsvToRgb(h, s, v, out, 0);
                    int[] r = referenceHsvToRgb(h, s, v);
                    if ((out[0] & 0xFF) != r[0] || (out[1] & 0xFF) != r[1] || (out[2] & 0xFF) != r[2])
                        fail("hsv (" + h + "," + s + "," + v + ")");
                }
    }

    @Test
    void blendTruncatesInsideAndClampsOutsideTheUnitRange() {
        assertEquals(1, ColorOps.blend(0, 3, 0.5f, false), "1.5 truncates to 1 like PIL's (UINT8) cast");
        assertEquals(255, ColorOps.blend(100, 200, 2.0f, true));
        assertEquals(0, ColorOps.blend(200, 100, 3.0f, true));
        Image8 im = Image8.filled(2, 2, 10, 100, 250);
        assertEquals(Image8.filled(2, 2, 0, 0, 0), ColorOps.brightness(im, 0));
        assertEquals(im, ColorOps.brightness(im, 1.0));
        assertEquals(ColorOps.luma(10, 100, 250), ColorOps.grayMean(im));
        assertEquals(Image8.filled(2, 2, ColorOps.grayMean(im), ColorOps.grayMean(im), ColorOps.grayMean(im)), ColorOps.contrast(im, 0));
        assertThrows(IllegalArgumentException.class, () -> ColorOps.hue(im, 0.6));
        Image8 gray = Image8.filled(3, 1, 77);
        assertEquals(gray, ColorOps.saturation(gray, 1.7), "saturation leaves L images alone, like PIL");
        assertEquals(gray, ColorOps.hue(gray, 0.3));
    }
}
