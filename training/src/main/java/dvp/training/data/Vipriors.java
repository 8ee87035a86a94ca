package dvp.training.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The VIPriors image-classification layout (ALGORITHMS §7) under one root:
 * <pre>
 *   train/&lt;wnid&gt;/*.JPEG     50 per class, ImageFolder
 *   val/&lt;wnid&gt;/*.JPEG       50 per class (from ImageNet-train), ImageFolder
 *   trainval/&lt;wnid&gt;/…        optional: the union, as the competition runs used
 *   test/imgs/img_&lt;i&gt;.JPEG   unlabeled (ImageNet-val), ordered by i
 *   test/labeled/&lt;wnid&gt;/…    optional labelled copy DVP used for monitoring
 * </pre>
 * Class indices are positions in the sorted wnid list, as everywhere else.
 */
public final class Vipriors {
    private static final Pattern TEST_NAME = Pattern.compile("img_(\\d+)\\.[A-Za-z]+");

    private Vipriors() {}

    public static ImageFolder train(Path root) throws IOException { return ImageFolder.open(root.resolve("train")); }

    public static ImageFolder val(Path root) throws IOException { return ImageFolder.open(root.resolve("val")); }

    /** root/trainval when it exists, else train followed by val (their class lists must be equal). */
    public static ImageDataset trainval(Path root) throws IOException {
        Path tv = root.resolve("trainval");
        if (Files.isDirectory(tv)) return ImageFolder.open(tv);
        ImageFolder t = train(root), v = val(root);
        if (!t.classes().equals(v.classes()))
            throw new DatasetException("VIPriors train and val under " + root + " have different class folders (" + t.classes().size()
                    + " vs " + v.classes().size() + "); cannot form trainval");
        return new ConcatDataset(List.of(t, v));
    }

    /** root/test/labeled, DVP's monitoring set, when present. */
    public static ImageFolder testLabeled(Path root) throws IOException { return ImageFolder.open(root.resolve("test").resolve("labeled")); }

    /** root/test/imgs/img_&lt;i&gt;.* ordered by i (so row i of a submission is img_i). */
    public static UnlabeledImages test(Path root) throws IOException {
        Path dir = root.resolve("test").resolve("imgs");
        if (!Files.isDirectory(dir)) throw new DatasetException("VIPriors test images folder " + dir + " does not exist");
        List<Path> files = new ArrayList<>();
        List<Long> idx = new ArrayList<>();
        try (var s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Matcher m = TEST_NAME.matcher(p.getFileName().toString());
                if (m.matches() && ImageFolder.hasExtension(p.getFileName().toString(), ImageFolder.IMG_EXTENSIONS)) files.add(p);
            }
        }
        if (files.isEmpty()) throw new DatasetException("no img_<i>.JPEG files in " + dir);
        files.sort(Comparator.comparingLong(p -> {
            Matcher m = TEST_NAME.matcher(p.getFileName().toString());
            m.matches();
            return Long.parseLong(m.group(1));
        }));
        for (Path p : files) { Matcher m = TEST_NAME.matcher(p.getFileName().toString()); m.matches(); idx.add(Long.parseLong(m.group(1))); }
        for (int i = 1; i < idx.size(); i++)
            if (idx.get(i).equals(idx.get(i - 1))) throw new DatasetException("VIPriors test: two files with index " + idx.get(i) + " in " + dir);
        return new UnlabeledImages(files);
    }
}
