package dvp.training.data;

import dvp.training.data.image.Image8;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST from its IDX files ({@code train-images-idx3-ubyte.gz} etc., as Debian's
 * {@code dataset-fashion-mnist} installs them under {@code /usr/share/datasets/fashion-mnist/}):
 * 28×28 grayscale images with torchvision's class names. Samples are 1-channel; {@link #rgb}
 * replicates them into 3 channels for RGB models. Our small real benchmark combines it with
 * {@link PerClassSplit} (e.g. 50 + 50 training images per class, the official test file as test).
 */
public final class FashionMnist implements ImageDataset {
    public static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    /** torchvision's FashionMNIST.classes. */
    public static final List<String> CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private final String name;
    private final int rows, cols;
    private final byte[] pixels;
    private final byte[] labels;
    private final boolean rgb;

    private FashionMnist(String name, int rows, int cols, byte[] pixels, byte[] labels, boolean rgb) {
        this.name = name;
        this.rows = rows;
        this.cols = cols;
        this.pixels = pixels;
        this.labels = labels;
        this.rgb = rgb;
    }

    /** The 60,000 training images. */
    public static FashionMnist train(Path dir) throws IOException { return load(dir, "train"); }

    /** The 10,000 test images. */
    public static FashionMnist test(Path dir) throws IOException { return load(dir, "t10k"); }

    /** Reads {@code <prefix>-images-idx3-ubyte(.gz)} and {@code <prefix>-labels-idx1-ubyte(.gz)} from dir. */
    public static FashionMnist load(Path dir, String prefix) throws IOException {
        Path img = find(dir, prefix + "-images-idx3-ubyte"), lab = find(dir, prefix + "-labels-idx1-ubyte");
        int[] dims = new int[3];
        byte[] pixels = readIdx(img, 0x0803, dims);
        int[] ldims = new int[1];
        byte[] labels = readIdx(lab, 0x0801, ldims);
        if (dims[0] != ldims[0]) throw new DatasetException(img + " has " + dims[0] + " images but " + lab + " has " + ldims[0] + " labels");
        for (int i = 0; i < labels.length; i++)
            if ((labels[i] & 0xFF) >= CLASSES.size()) throw new DatasetException(lab + ": label " + (labels[i] & 0xFF) + " at " + i + " is not a Fashion-MNIST class");
        return new FashionMnist("fashion-mnist/" + prefix, dims[1], dims[2], pixels, labels, false);
    }

    private static Path find(Path dir, String base) throws DatasetException {
        for (String s : new String[]{".gz", ""}) if (Files.isRegularFile(dir.resolve(base + s))) return dir.resolve(base + s);
        throw new DatasetException("Fashion-MNIST file " + dir.resolve(base + ".gz") + " (or without .gz) not found"
                + (dir.equals(DEFAULT_DIR) ? "; install the Debian package dataset-fashion-mnist" : ""));
    }

    /** An IDX file of unsigned bytes with the expected magic; fills dims and returns the data. */
    static byte[] readIdx(Path file, int magic, int[] dims) throws IOException {
        try (InputStream raw = Files.newInputStream(file);
             DataInputStream in = new DataInputStream(file.toString().endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw)) {
            int m = in.readInt();
            if (m != magic) throw new DatasetException(file + ": IDX magic 0x" + Integer.toHexString(m) + ", expected 0x" + Integer.toHexString(magic));
            long n = 1;
            for (int i = 0; i < dims.length; i++) {
                dims[i] = in.readInt();
                if (dims[i] <= 0) throw new DatasetException(file + ": bad IDX dimension " + dims[i]);
                n *= dims[i];
            }
            if (n > Integer.MAX_VALUE) throw new DatasetException(file + ": too large");
            byte[] data = new byte[(int) n];
            in.readFully(data);
            return data;
        } catch (EOFException e) {
            throw new DatasetException(file + ": truncated IDX file", e);
        } catch (java.util.zip.ZipException e) {
            throw new DatasetException(file + ": corrupt gzip data (" + e.getMessage() + ")", e);
        }
    }

    /** The same images replicated into 3 channels (PIL's convert("RGB")). */
    public FashionMnist rgb() { return new FashionMnist(name, rows, cols, pixels, labels, true); }

    public int imageWidth() { return cols; }

    public int imageHeight() { return rows; }

    public Image8 image(int index) {
        checkIndex(index);
        int n = rows * cols;
        if (!rgb) {
            byte[] d = new byte[n];
            System.arraycopy(pixels, index * n, d, 0, n);
            return new Image8(cols, rows, 1, d);
        }
        byte[] d = new byte[n * 3];
        for (int i = 0; i < n; i++) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = pixels[index * n + i];
        return new Image8(cols, rows, 3, d);
    }

    @Override public int size() { return labels.length; }

    @Override public List<String> classes() { return CLASSES; }

    @Override
    public int label(int index) {
        checkIndex(index);
        return labels[index] & 0xFF;
    }

    @Override public String describe(int index) { return name + "#" + index; }

    @Override public SampleSource read(int index) { return new SampleSource.Pixels(image(index)); }
}
