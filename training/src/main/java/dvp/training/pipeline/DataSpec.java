package dvp.training.pipeline;

import dvp.training.data.FashionMnist;
import dvp.training.data.ImageDataset;
import dvp.training.data.ImageFolder;
import dvp.training.data.PerClassSplit;
import dvp.training.data.SubsetDataset;
import dvp.training.data.Vipriors;
import dvp.training.data.transforms.Normalize;
import dvp.training.run.BadInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Where a command's images come from, as the command line says it ({@code --data KIND:PATH}):
 * <ul>
 *   <li>{@code vipriors:ROOT} — the VIPriors layout (§7): train = {@code train/}, val = {@code val/},
 *       test = {@code test/imgs/} (unlabelled); with {@code trainval} train is train ∪ val and the
 *       validation set is {@code test/labeled/} when present (DVP's competition set-up);</li>
 *   <li>{@code folder:ROOT} — ImageFolders {@code ROOT/train}, {@code ROOT/val} (optional),
 *       {@code ROOT/test} (optional, labelled);</li>
 *   <li>{@code fashion-mnist[:DIR]} — Fashion-MNIST's IDX files (default
 *       {@code /usr/share/datasets/fashion-mnist}, Debian's {@code dataset-fashion-mnist}):
 *       {@code trainPerClass} + {@code valPerClass} images per class drawn (seeded, disjoint) from the
 *       training file, the official test file as test. Grayscale, 28 px.</li>
 * </ul>
 * Normalisation: ImageNet's statistics for RGB data (every phase of the paper), Fashion-MNIST's
 * (mean 0.2860, std 0.3530) for it.
 */
public record DataSpec(String kind, Path root, int trainPerClass, int valPerClass, long splitSeed, boolean trainval) {
    public static final Normalize FASHION_MNIST = new Normalize(new float[]{0.2860f}, new float[]{0.3530f});

    public DataSpec {
        kind = kind == null ? "" : kind.toLowerCase(Locale.ROOT);
    }

    public static DataSpec fashionMnist(int trainPerClass, int valPerClass) {
        return new DataSpec("fashion-mnist", FashionMnist.DEFAULT_DIR, trainPerClass, valPerClass, 0, false);
    }

    public static DataSpec vipriors(Path root) { return new DataSpec("vipriors", root, 0, 0, 0, false); }

    public static DataSpec folder(Path root) { return new DataSpec("folder", root, 0, 0, 0, false); }

    /** Parses {@code KIND:PATH} ({@code fashion-mnist} alone uses the default folder). */
    public static DataSpec parse(String s) {
        if (s == null || s.isBlank()) throw new BadInputException("--data needs KIND:PATH (vipriors:ROOT, folder:ROOT or fashion-mnist[:DIR])");
        int i = s.indexOf(':');
        String kind = (i < 0 ? s : s.substring(0, i)).toLowerCase(Locale.ROOT);
        Path path = i < 0 ? null : Path.of(s.substring(i + 1));
        return switch (kind) {
            case "fashion-mnist", "fashionmnist", "fmnist" -> new DataSpec("fashion-mnist", path == null ? FashionMnist.DEFAULT_DIR : path, 50, 50, 0, false);
            case "vipriors", "folder" -> {
                if (path == null) throw new BadInputException("--data " + s + ": give the root folder, e.g. " + kind + ":/data/imagenet_50");
                yield new DataSpec(kind, path, 0, 0, 0, false);
            }
            default -> throw new BadInputException("--data " + s + ": unknown kind '" + kind + "' (vipriors:ROOT, folder:ROOT or fashion-mnist[:DIR])");
        };
    }

    public DataSpec withPerClass(int train, int val) { return new DataSpec(kind, root, train, val, splitSeed, trainval); }

    public DataSpec withSplitSeed(long seed) { return new DataSpec(kind, root, trainPerClass, valPerClass, seed, trainval); }

    public DataSpec withTrainval(boolean v) { return new DataSpec(kind, root, trainPerClass, valPerClass, splitSeed, v); }

    /** The opened datasets; val and test may be null. */
    public record Splits(String description, ImageDataset train, ImageDataset val, ImageDataset test, Normalize normalize) {
        public int channels() { return normalize.channels(); }

        public List<String> classes() { return train.classes(); }
    }

    /** Opens the datasets; a missing folder or file is one {@link BadInputException} line saying what was looked for. */
    public Splits open() {
        try {
            return switch (kind) {
                case "fashion-mnist" -> openFashionMnist();
                case "vipriors" -> openVipriors();
                case "folder" -> openFolder();
                default -> throw new BadInputException("--data: unknown kind '" + kind + "' (vipriors, folder or fashion-mnist)");
            };
        } catch (BadInputException e) {
            throw e;
        } catch (IOException | IllegalArgumentException e) {
            throw new BadInputException("--data " + kind + ":" + root + ": " + e.getMessage(), e);
        }
    }

    private Splits openFashionMnist() throws IOException {
        if (!Files.isDirectory(root) || !(Files.exists(root.resolve("train-images-idx3-ubyte.gz")) || Files.exists(root.resolve("train-images-idx3-ubyte"))))
            throw new BadInputException("Fashion-MNIST not found in " + root + (root.equals(FashionMnist.DEFAULT_DIR)
                    ? "; install it with: apt-get install dataset-fashion-mnist" : " (expected train-images-idx3-ubyte.gz and friends)"));
        if (trainPerClass < 1 || valPerClass < 0)
            throw new BadInputException("--train-per-class must be >= 1 and --val-per-class >= 0, got " + trainPerClass + ", " + valPerClass);
        FashionMnist trainFile = FashionMnist.train(root), testFile = FashionMnist.test(root);
        List<SubsetDataset> s = valPerClass > 0 ? PerClassSplit.split(trainFile, splitSeed, trainPerClass, valPerClass)
                : PerClassSplit.split(trainFile, splitSeed, trainPerClass);
        String d = "Fashion-MNIST " + trainPerClass + "/class train (" + s.getFirst().size() + " images)"
                + (valPerClass > 0 ? ", " + valPerClass + "/class val (" + s.get(1).size() + ")" : "") + ", official test (" + testFile.size() + ")";
        return new Splits(d, s.getFirst(), valPerClass > 0 ? s.get(1) : null, testFile, FASHION_MNIST);
    }

    private Splits openVipriors() throws IOException {
        requireFolder(root);
        ImageDataset train = trainval ? Vipriors.trainval(root) : Vipriors.train(root);
        ImageDataset val = null;
        if (trainval) {
            if (Files.isDirectory(root.resolve("test").resolve("labeled"))) val = Vipriors.testLabeled(root);
        } else if (Files.isDirectory(root.resolve("val"))) {
            val = Vipriors.val(root);
        }
        ImageDataset test = Files.isDirectory(root.resolve("test").resolve("imgs")) ? Vipriors.test(root) : null;
        return new Splits("VIPriors " + root + (trainval ? " (train+val)" : ""), train, val, test, Normalize.IMAGENET);
    }

    private Splits openFolder() throws IOException {
        requireFolder(root);
        Path t = root.resolve("train");
        if (!Files.isDirectory(t)) throw new BadInputException("--data folder:" + root + ": no train/ folder (expected ROOT/train/<class>/...)");
        ImageFolder train = ImageFolder.open(t);
        ImageFolder val = Files.isDirectory(root.resolve("val")) ? ImageFolder.open(root.resolve("val")) : null;
        ImageFolder test = Files.isDirectory(root.resolve("test")) ? ImageFolder.open(root.resolve("test")) : null;
        return new Splits("ImageFolder " + root, train, val, test, Normalize.IMAGENET);
    }

    private void requireFolder(Path p) {
        if (!Files.isDirectory(p)) throw new BadInputException("--data " + kind + ":" + p + ": no such folder");
    }
}
