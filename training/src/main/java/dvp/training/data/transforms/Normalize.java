package dvp.training.data.transforms;

import dvp.training.data.image.Image8;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * torchvision's {@code ToTensor()} followed by {@code Normalize(mean, std)}: an 8-bit HWC image
 * becomes float32 CHW with {@code (v / 255 − mean[c]) / std[c]}, each step in float32 as PyTorch
 * computes it (so the result is bit-identical). Implemented as one 256-entry table per channel.
 */
public final class Normalize {
    /** The ImageNet statistics every phase of the paper uses. */
    public static final Normalize IMAGENET = new Normalize(new float[]{0.485f, 0.456f, 0.406f}, new float[]{0.229f, 0.224f, 0.225f});

    private final float[] mean;
    private final float[] std;
    private final float[][] lut;

    public Normalize(float[] mean, float[] std) {
        if (mean.length != std.length || mean.length == 0) throw new IllegalArgumentException("normalize: mean and std need the same, non-zero length");
        this.mean = mean.clone();
        this.std = std.clone();
        lut = new float[mean.length][256];
        for (int c = 0; c < mean.length; c++) {
            if (!(std[c] > 0)) throw new IllegalArgumentException("normalize: std must be positive, got " + std[c]);
            for (int v = 0; v < 256; v++) lut[c][v] = ((float) v / 255f - mean[c]) / std[c];
        }
    }

    /** Identity statistics (mean 0, std 1): plain ToTensor. */
    public static Normalize none(int channels) {
        float[] z = new float[channels], o = new float[channels];
        java.util.Arrays.fill(o, 1f);
        return new Normalize(z, o);
    }

    public int channels() { return mean.length; }

    public float[] mean() { return mean.clone(); }

    public float[] std() { return std.clone(); }

    /** The normalised value of 8-bit value v in channel c. */
    public float value(int c, int v) { return lut[c][v]; }

    private void check(Image8 im) {
        if (im.channels != mean.length)
            throw new IllegalArgumentException("normalize: image has " + im.channels + " channels, statistics are for " + mean.length);
    }

    /** Writes im as CHW float32 into dst starting at element off. */
    public void writeChw(Image8 im, float[] dst, int off) {
        check(im);
        int c = im.channels, n = im.width * im.height;
        byte[] d = im.data;
        for (int k = 0; k < c; k++) {
            float[] t = lut[k];
            int o = off + k * n;
            for (int i = 0; i < n; i++) dst[o + i] = t[d[i * c + k] & 0xFF];
        }
    }

    /** Writes im as CHW float32 into native memory at byteOffset (one image = C·H·W·4 bytes). */
    public void writeChw(Image8 im, MemorySegment dst, long byteOffset) {
        check(im);
        int c = im.channels, w = im.width, h = im.height;
        float[] row = new float[w];
        byte[] d = im.data;
        for (int k = 0; k < c; k++) {
            float[] t = lut[k];
            for (int y = 0; y < h; y++) {
                int s = y * w * c + k;
                for (int x = 0; x < w; x++) row[x] = t[d[s + x * c] & 0xFF];
                MemorySegment.copy(row, 0, dst, ValueLayout.JAVA_FLOAT, byteOffset + ((long) (k * h + y) * w) * 4, w);
            }
        }
    }

    /** A fresh CHW float array of im. */
    public float[] toChw(Image8 im) {
        float[] out = new float[im.channels * im.width * im.height];
        writeChw(im, out, 0);
        return out;
    }
}
