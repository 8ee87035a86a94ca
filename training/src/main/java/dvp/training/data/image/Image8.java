package dvp.training.data.image;

import java.util.Arrays;

/**
 * An 8-bit image: {@code height} rows of {@code width} pixels of {@code channels} interleaved
 * bytes (HWC, row-major, no padding). Channels are 3 (RGB) or 1 (L). This is the type every
 * decoder produces and every pixel op consumes — the equivalent of a PIL image in mode "RGB" or
 * "L", which is what torchvision's transforms worked on in the original code. Values are unsigned:
 * read them with {@code data[i] & 0xFF}.
 *
 * <p>Ops never modify their input; each returns a new image (or, where documented, writes into a
 * caller-supplied one).
 */
public final class Image8 {
    public final int width;
    public final int height;
    public final int channels;
    public final byte[] data;

    public Image8(int width, int height, int channels, byte[] data) {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("image size must be positive: " + width + "x" + height);
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("image channels must be 1 or 3, got " + channels);
        if (data.length != (long) width * height * channels)
            throw new IllegalArgumentException("image data has " + data.length + " bytes for " + width + "x" + height + "x" + channels);
        this.width = width;
        this.height = height;
        this.channels = channels;
        this.data = data;
    }

    /** A zero (black) image. */
    public static Image8 blank(int width, int height, int channels) {
        return new Image8(width, height, channels, new byte[width * height * channels]);
    }

    /** An image filled with one value per channel. */
    public static Image8 filled(int width, int height, int... values) {
        Image8 im = blank(width, height, values.length);
        for (int i = 0; i < im.data.length; i++) im.data[i] = (byte) values[i % values.length];
        return im;
    }

    public int stride() { return width * channels; }

    public int get(int x, int y, int c) { return data[(y * width + x) * channels + c] & 0xFF; }

    public void set(int x, int y, int c, int v) { data[(y * width + x) * channels + c] = (byte) v; }

    public Image8 copy() { return new Image8(width, height, channels, data.clone()); }

    public boolean sameSize(Image8 o) { return width == o.width && height == o.height && channels == o.channels; }

    @Override
    public boolean equals(Object o) {
        return o instanceof Image8 im && sameSize(im) && Arrays.equals(data, im.data);
    }

    @Override
    public int hashCode() { return 31 * (31 * width + height) + Arrays.hashCode(data); }

    @Override
    public String toString() { return "Image8[" + width + "x" + height + "x" + channels + "]"; }
}
