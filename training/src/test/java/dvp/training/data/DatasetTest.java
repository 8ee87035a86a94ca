package dvp.training.data;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.*;

class DatasetTest {
    static void touch(Path root, String rel) throws IOException {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.write(p, rel.getBytes());
    }

    static List<String> relPaths(ImageFolder f) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < f.size(); i++) out.add(f.root().relativize(f.path(i)).toString() + ":" + f.label(i));
        return out;
    }

    /** A tree with nested folders, mixed-case extensions, non-images and names that sort differently by code point. */
    static Path tree(Path dir) throws IOException {
        Path root = dir.resolve("imgs");
        touch(root, "b/x.jpg");
        touch(root, "b/A.JPEG");
        touch(root, "b/notes.txt");
        touch(root, "b/sub/z.png");
        touch(root, "b/sub-a/y.Png");
        touch(root, "b/sub/deeper/w.bmp");
        touch(root, "a/only.webp");
        touch(root, "C/1.jpg");
        touch(root, "C/10.jpg");
        touch(root, "C/2.jpg");
        Files.createDirectories(root.resolve("a/emptysub"));
        Files.write(root.resolve("stray.jpg"), new byte[1]); // files at the root are not samples
        return root;
    }

    @Test
    void imageFolderFollowsTorchvisionOrderAndLabels(@TempDir Path dir) throws IOException {
        ImageFolder f = ImageFolder.open(tree(dir));
        assertEquals(List.of("C", "a", "b"), f.classes(), "class folders sorted by code point (upper case first)");
        assertEquals(List.of("C/1.jpg:0", "C/10.jpg:0", "C/2.jpg:0", "a/only.webp:1",
                "b/A.JPEG:2", "b/x.jpg:2", "b/sub/z.png:2", "b/sub-a/y.Png:2", "b/sub/deeper/w.bmp:2"), relPaths(f),
                "folders sorted by path string: sub < sub-a < sub/deeper ('-' sorts before '/')");
        assertEquals(2, f.classToIndex().get("b"));
        assertEquals(3, f.numClasses());
        assertTrue(f.read(0) instanceof SampleSource.Encoded e && new String(e.bytes()).equals("C/1.jpg"));
    }

    @Test
    void imageFolderOrderMatchesTorchvisionItself(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(dvp.training.data.transforms.TorchvisionParityTest.pythonHasTorchvision(), "skipped: no /usr/bin/python3 with torchvision");
        Path root = tree(dir);
        Process p = new ProcessBuilder("/usr/bin/python3", "-c",
                "import sys, os\nfrom torchvision.datasets import ImageFolder\nd = ImageFolder(sys.argv[1], loader=lambda p: p)\n"
                        + "print(d.classes)\nfor p, c in d.samples: print(os.path.relpath(p, sys.argv[1]) + ':' + str(c))", root.toString())
                .redirectErrorStream(true).start();
        List<String> lines = new String(p.getInputStream().readAllBytes()).lines().toList();
        assertEquals(0, p.waitFor(), String.join("\n", lines));
        assertEquals("['C', 'a', 'b']", lines.getFirst());
        assertEquals(lines.subList(1, lines.size()), relPaths(ImageFolder.open(root)));
    }

    @Test
    void imageFolderErrorsNameWhatIsMissing(@TempDir Path dir) throws IOException {
        DatasetException e = assertThrows(DatasetException.class, () -> ImageFolder.open(dir.resolve("nope")));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        Files.createDirectories(dir.resolve("empty"));
        e = assertThrows(DatasetException.class, () -> ImageFolder.open(dir.resolve("empty")));
        assertTrue(e.getMessage().contains("Couldn't find any class folder"), e.getMessage());
        touch(dir, "r/cat/a.jpg");
        touch(dir, "r/dog/readme.txt");
        Files.createDirectories(dir.resolve("r/emu"));
        e = assertThrows(DatasetException.class, () -> ImageFolder.open(dir.resolve("r")));
        assertTrue(e.getMessage().contains("Found no valid file for the classes dog, emu"), e.getMessage());
        assertTrue(e.getMessage().contains(".jpg"), "lists the supported extensions");
        ImageFolder allowed = ImageFolder.open(dir.resolve("r"), ImageFolder.IMG_EXTENSIONS, true);
        assertEquals(List.of("cat", "dog", "emu"), allowed.classes());
        assertEquals(1, allowed.size());
    }

    @Test
    void imageFolderFollowsSymlinksWithoutLooping(@TempDir Path dir) throws IOException {
        touch(dir, "shared/s.jpg");
        touch(dir, "r/k/own.jpg");
        Files.createSymbolicLink(dir.resolve("r/k/linked"), dir.resolve("shared"));
        Files.createSymbolicLink(dir.resolve("r/k/loop"), dir.resolve("r/k"));
        ImageFolder f = ImageFolder.open(dir.resolve("r"));
        assertEquals(List.of("k/own.jpg:0", "k/linked/s.jpg:0"), relPaths(f));
    }

    @Test
    void vipriorsLayout(@TempDir Path root) throws IOException {
        for (String split : List.of("train", "val"))
            for (String wnid : List.of("n02", "n01"))
                for (int i = 0; i < 2; i++) touch(root, split + "/" + wnid + "/" + split + "_" + wnid + "_" + i + ".JPEG");
        for (int i : new int[]{10, 0, 2}) touch(root, "test/imgs/img_" + i + ".JPEG");
        touch(root, "test/imgs/readme.txt");
        ImageFolder train = Vipriors.train(root), val = Vipriors.val(root);
        assertEquals(List.of("n01", "n02"), train.classes());
        assertEquals(4, train.size());
        ImageDataset tv = Vipriors.trainval(root);
        assertEquals(8, tv.size());
        assertEquals(train.classes(), tv.classes());
        assertEquals(train.describe(3), tv.describe(3));
        assertEquals(val.describe(0), tv.describe(4));
        assertEquals(val.label(2), tv.label(6));
        UnlabeledImages test = Vipriors.test(root);
        assertEquals(List.of("img_0.JPEG", "img_2.JPEG", "img_10.JPEG"), List.of(test.fileName(0), test.fileName(1), test.fileName(2)));
        assertEquals(-1, test.label(0));
        assertTrue(test.classes().isEmpty());
        // an explicit trainval folder wins
        touch(root, "trainval/n01/a.JPEG");
        touch(root, "trainval/n02/b.JPEG");
        assertEquals(2, Vipriors.trainval(root).size());
        // mismatched classes cannot be unioned
        Files.walk(root.resolve("trainval")).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        touch(root, "val/n03/x.JPEG");
        DatasetException e = assertThrows(DatasetException.class, () -> Vipriors.trainval(root));
        assertTrue(e.getMessage().contains("different class folders"), e.getMessage());
        assertThrows(DatasetException.class, () -> Vipriors.test(root.resolve("elsewhere")));
    }

    static void writeIdx(Path file, int magic, int[] dims, byte[] data) throws IOException {
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(Files.newOutputStream(file)))) {
            out.writeInt(magic);
            for (int d : dims) out.writeInt(d);
            out.write(data);
        }
    }

    @Test
    void idxFilesAreParsedAndBadOnesRejected(@TempDir Path dir) throws IOException {
        byte[] px = new byte[3 * 2 * 4];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 10);
        writeIdx(dir.resolve("tiny-images-idx3-ubyte.gz"), 0x803, new int[]{3, 2, 4}, px);
        writeIdx(dir.resolve("tiny-labels-idx1-ubyte.gz"), 0x801, new int[]{3}, new byte[]{7, 0, 9});
        FashionMnist f = FashionMnist.load(dir, "tiny");
        assertEquals(3, f.size());
        assertEquals(4, f.imageWidth());
        assertEquals(2, f.imageHeight());
        assertEquals(List.of(7, 0, 9), List.of(f.label(0), f.label(1), f.label(2)));
        assertEquals("Sneaker", f.classes().get(f.label(0)));
        assertEquals(80, f.image(1).get(0, 0, 0));
        assertEquals(1, f.image(1).channels);
        assertEquals(3, f.rgb().image(1).channels);
        assertEquals(f.image(2).get(3, 1, 0), f.rgb().image(2).get(3, 1, 2));

        writeIdx(dir.resolve("bad-images-idx3-ubyte.gz"), 0x801, new int[]{3, 2, 4}, px);
        writeIdx(dir.resolve("bad-labels-idx1-ubyte.gz"), 0x801, new int[]{3}, new byte[3]);
        assertTrue(assertThrows(DatasetException.class, () -> FashionMnist.load(dir, "bad")).getMessage().contains("magic"));
        writeIdx(dir.resolve("short-images-idx3-ubyte.gz"), 0x803, new int[]{3, 2, 4}, new byte[5]);
        writeIdx(dir.resolve("short-labels-idx1-ubyte.gz"), 0x801, new int[]{3}, new byte[3]);
        assertTrue(assertThrows(DatasetException.class, () -> FashionMnist.load(dir, "short")).getMessage().contains("truncated"));
        writeIdx(dir.resolve("mism-images-idx3-ubyte.gz"), 0x803, new int[]{3, 2, 4}, px);
        writeIdx(dir.resolve("mism-labels-idx1-ubyte.gz"), 0x801, new int[]{2}, new byte[2]);
        assertTrue(assertThrows(DatasetException.class, () -> FashionMnist.load(dir, "mism")).getMessage().contains("labels"));
        assertTrue(assertThrows(DatasetException.class, () -> FashionMnist.load(dir, "absent")).getMessage().contains("not found"));
    }

    @Test
    void realFashionMnistAndItsSeededPerClassSplit() throws IOException {
        Assumptions.assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_DIR), "skipped: Debian package dataset-fashion-mnist is not installed");
        FashionMnist train = FashionMnist.train(FashionMnist.DEFAULT_DIR), test = FashionMnist.test(FashionMnist.DEFAULT_DIR);
        assertEquals(60000, train.size());
        assertEquals(10000, test.size());
        assertEquals(List.of(9, 0, 0, 3, 0, 2, 7, 2, 5, 5), java.util.stream.IntStream.range(0, 10).map(train::label).boxed().toList());
        assertEquals(List.of(9, 2, 1, 1, 6, 1, 4, 6, 5, 7), java.util.stream.IntStream.range(0, 10).map(test::label).boxed().toList());

        List<SubsetDataset> s = PerClassSplit.split(train, 42, 50, 50);
        SubsetDataset tr = s.get(0), va = s.get(1);
        assertEquals(500, tr.size());
        assertEquals(500, va.size());
        int[] perClassTrain = new int[10], perClassVal = new int[10];
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 500; i++) {
            perClassTrain[tr.label(i)]++;
            perClassVal[va.label(i)]++;
            assertTrue(seen.add(tr.baseIndex(i)));
            assertTrue(seen.add(va.baseIndex(i)), "train and val are disjoint");
            if (i > 0) assertTrue(tr.baseIndex(i) > tr.baseIndex(i - 1), "ascending base order");
        }
        for (int c = 0; c < 10; c++) {
            assertEquals(50, perClassTrain[c]);
            assertEquals(50, perClassVal[c]);
        }
        List<SubsetDataset> again = PerClassSplit.split(train, 42, 50, 50), other = PerClassSplit.split(train, 43, 50, 50);
        for (int i = 0; i < 500; i++) assertEquals(tr.baseIndex(i), again.get(0).baseIndex(i), "same seed, same split");
        boolean differs = false;
        for (int i = 0; i < 500; i++) differs |= tr.baseIndex(i) != other.get(0).baseIndex(i);
        assertTrue(differs, "another seed draws other images");
        assertEquals(train.image(tr.baseIndex(7)), ((SampleSource.Pixels) tr.read(7)).image());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PerClassSplit.split(test, 1, 900, 200));
        assertTrue(e.getMessage().contains("has 1000 samples, 1100 needed"), e.getMessage());
    }
}
