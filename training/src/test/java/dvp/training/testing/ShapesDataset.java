package dvp.training.testing;

import dvp.engine.Rng;
import dvp.training.data.ImageDataset;
import dvp.training.data.SampleSource;
import dvp.training.data.image.Image8;
import dvp.training.data.transforms.Normalize;
import dvp.training.model.ModelSpec;

import java.util.List;

/**
 * A small synthetic labelled dataset for trainer tests: grayscale (or RGB) images of four easily
 * told-apart patterns — horizontal stripes, vertical stripes, a bright disc, a dark disc on a
 * bright ground — at random phases/positions with noise, label = index mod 4. Deterministic in the
 * seed. Images are generated on read (thread-safe, immutable).
 */
public final class ShapesDataset implements ImageDataset {
    public static final List<String> CLASSES = List.of("hstripes", "vstripes", "disc", "hole");
    private final int size, side, channels;
    private final long seed;

    public ShapesDataset(int size, int side, int channels, long seed) {
        this.size = size;
        this.side = side;
        this.channels = channels;
        this.seed = seed;
    }

    /** The tiny test network: ResNet-18 layout with one block per stage, width 0.125, small stem. */
    public static ModelSpec tinyModel(int channels) {
        return ModelSpec.of("resnet18").withInChannels(channels).withSmallStem(true).withWidth(0.125).withBlocks(1, 1, 1, 1);
    }

    public static Normalize normalize(int channels) {
        float[] m = new float[channels], s = new float[channels];
        java.util.Arrays.fill(m, 0.5f);
        java.util.Arrays.fill(s, 0.25f);
        return new Normalize(m, s);
    }

    public Image8 image(int index) {
        checkIndex(index);
        Rng rng = new Rng(seed).fork(index);
        int label = label(index);
        double phase = rng.uniform(0, 2 * Math.PI), cx = rng.uniform(0.35, 0.65) * side, cy = rng.uniform(0.35, 0.65) * side;
        double radius = rng.uniform(0.2, 0.3) * side, freq = rng.uniform(0.6, 1.0);
        byte[] d = new byte[side * side * channels];
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                double v = switch (label) {
                    case 0 -> 128 + 100 * Math.sin(freq * y + phase);
                    case 1 -> 128 + 100 * Math.sin(freq * x + phase);
                    case 2 -> Math.hypot(x - cx, y - cy) < radius ? 220 : 40;
                    default -> Math.hypot(x - cx, y - cy) < radius ? 40 : 220;
                };
                v += rng.uniform(-25, 25);
                int b = (int) Math.max(0, Math.min(255, Math.round(v)));
                for (int c = 0; c < channels; c++) d[(y * side + x) * channels + c] = (byte) b;
            }
        return new Image8(side, side, channels, d);
    }

    @Override public int size() { return size; }

    @Override public List<String> classes() { return CLASSES; }

    @Override
    public int label(int index) {
        checkIndex(index);
        return index % 4;
    }

    @Override public String describe(int index) { return "shapes#" + index; }

    @Override public SampleSource read(int index) { return new SampleSource.Pixels(image(index)); }
}
