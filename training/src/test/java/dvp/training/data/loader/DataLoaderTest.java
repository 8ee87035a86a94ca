package dvp.training.data.loader;

import dvp.engine.Tensor;
import dvp.training.data.FashionMnist;
import dvp.training.data.ImageDataset;
import dvp.training.data.ImageFolder;
import dvp.training.data.PerClassSplit;
import dvp.training.data.SubsetDataset;
import dvp.training.data.TestImages;
import dvp.training.data.decode.Decoded;
import dvp.training.data.decode.Decoders;
import dvp.training.data.decode.ImageDecoder;
import dvp.training.data.decode.ImageInfo;
import dvp.training.data.decode.ImageWriters;
import dvp.training.data.decode.TurboJpegDecoder;
import dvp.training.data.image.Image8;
import dvp.training.data.transforms.EvalView;
import dvp.training.data.transforms.MocoV2View;
import dvp.training.data.transforms.Normalize;
import dvp.training.data.transforms.TrainView;
import dvp.training.data.transforms.ViewTransform;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class DataLoaderTest {
    @TempDir
    static Path dir;
    static ImageFolder folder;

    /** 3 classes, 13 JPEGs of different sizes (one grayscale, one PNG), so batches of 4 leave a remainder. */
    @BeforeAll
    static void makeImages() throws IOException {
        int k = 0;
        for (String cls : List.of("ant", "bee", "cat")) {
            for (int i = 0; i < (cls.equals("cat") ? 5 : 4); i++, k++) {
                Image8 im = TestImages.natural(40 + 7 * k, 30 + 5 * (k % 4), 100 + k);
                Path f = dir.resolve("data").resolve(cls).resolve("img" + i + (k == 6 ? ".png" : ".jpg"));
                Files.createDirectories(f.getParent());
                if (k == 6) ImageWriters.writePng(im, f);
                else ImageWriters.writeJpeg(k == 3 ? dvp.training.data.image.ColorOps.grayscale(im, 3) : im, f, 0.9f);
            }
        }
        folder = ImageFolder.open(dir.resolve("data"));
    }

    static List<ViewTransform> moco(int size) { return List.of(MocoV2View.of(size), MocoV2View.of(size)); }

    record Run(List<float[][]> views, List<long[]> labels, List<int[]> indices) {}

    static Run runEpoch(DataLoader loader, int epoch) {
        List<float[][]> v = new ArrayList<>();
        List<long[]> l = new ArrayList<>();
        List<int[]> ix = new ArrayList<>();
        DataLoader.Epoch e = loader.epoch(epoch);
        while (e.hasNext()) {
            Batch b = e.next();
            float[][] vs = new float[b.views().size()][];
            for (int i = 0; i < vs.length; i++) vs[i] = b.views().get(i).toFloatArray();
            v.add(vs);
            l.add(b.labels().toLongArray());
            ix.add(b.indices());
        }
        return new Run(v, l, ix);
    }

    @Test
    void resultsAreIdenticalWhateverTheThreadCountAndMatchTheSampleProcessor() throws IOException {
        Run ref;
        try (DataLoader one = DataLoader.builder(folder, moco(24)).batchSize(4).workers(1).prefetch(1).seed(7).build()) {
            assertEquals(3, one.stepsPerEpoch());
            ref = runEpoch(one, 2);
        }
        for (int[] wp : new int[][]{{3, 3}, {2, 1}, {4, 5}}) {
            try (DataLoader many = DataLoader.builder(folder, moco(24)).batchSize(4).workers(wp[0]).prefetch(wp[1]).seed(7).build()) {
                Run r = runEpoch(many, 2);
                for (int b = 0; b < ref.views().size(); b++) {
                    for (int v = 0; v < 2; v++) assertArrayEquals(ref.views().get(b)[v], r.views().get(b)[v], "batch " + b + " view " + v + " with " + Arrays.toString(wp));
                    assertArrayEquals(ref.labels().get(b), r.labels().get(b));
                    assertArrayEquals(ref.indices().get(b), r.indices().get(b));
                }
            }
        }
        // the plumbing is exact: batch b, position i = SampleProcessor output for order[b*4 + i]
        int[] order = SampleSeeds.order(7, 2, folder.size(), true);
        SampleProcessor proc = new SampleProcessor(folder, moco(24), Normalize.IMAGENET, Decoders.auto(), 2.0, 7);
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var seg0 = arena.allocate(3 * 24 * 24 * 4L);
            var seg1 = arena.allocate(3 * 24 * 24 * 4L);
            for (int b = 0; b < 3; b++) {
                for (int i = 0; i < 4; i++) {
                    int idx = order[b * 4 + i];
                    assertEquals(idx, ref.indices().get(b)[i]);
                    int label = proc.process(2, idx, new java.lang.foreign.MemorySegment[]{seg0, seg1}, new long[]{0, 0}, new long[2]);
                    assertEquals(label, ref.labels().get(b)[i]);
                    assertEquals(folder.label(idx), label);
                    float[] v0 = seg0.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT), v1 = seg1.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                    assertArrayEquals(v0, Arrays.copyOfRange(ref.views().get(b)[0], i * v0.length, (i + 1) * v0.length));
                    assertArrayEquals(v1, Arrays.copyOfRange(ref.views().get(b)[1], i * v1.length, (i + 1) * v1.length));
                    assertFalse(Arrays.equals(v0, v1), "the two MoCo views are augmented independently");
                }
            }
        }
    }

    @Test
    void shufflingDropLastAndBatchShapes() {
        try (DataLoader l = DataLoader.builder(folder, moco(16)).batchSize(4).workers(2).seed(1).build()) {
            Run e0 = runEpoch(l, 0), e1 = runEpoch(l, 1), e0again = runEpoch(l, 0);
            Set<Integer> seen = new HashSet<>();
            for (int[] ix : e0.indices()) for (int i : ix) assertTrue(seen.add(i), "no sample twice in an epoch");
            assertEquals(12, seen.size(), "drop_last: 13 samples → 3 full batches");
            List<Integer> o0 = new ArrayList<>(), o1 = new ArrayList<>(), o0b = new ArrayList<>();
            e0.indices().forEach(a -> Arrays.stream(a).forEach(o0::add));
            e1.indices().forEach(a -> Arrays.stream(a).forEach(o1::add));
            e0again.indices().forEach(a -> Arrays.stream(a).forEach(o0b::add));
            assertNotEquals(o0, o1, "each epoch has its own order");
            assertEquals(o0, o0b, "an epoch's order depends only on (seed, epoch)");
            for (int b = 0; b < 3; b++) assertArrayEquals(e0.views().get(b)[0], e0again.views().get(b)[0], "and so do its augmentations");
            Batch one = l.epoch(0).next();
            assertArrayEquals(new int[]{4, 3, 16, 16}, one.views().get(0).shape());
            assertArrayEquals(new int[]{4}, one.labels().shape());
            assertEquals(2, one.views().size());
        }
        try (DataLoader l = DataLoader.builder(folder, List.of(EvalView.of(16))).batchSize(4).workers(2).shuffle(false).dropLast(false).build()) {
            assertEquals(4, l.stepsPerEpoch());
            Run r = runEpoch(l, 0);
            assertEquals(4, r.indices().size());
            assertArrayEquals(new int[]{12}, r.indices().get(3), "last partial batch keeps the remainder");
            assertEquals(1, r.labels().get(3).length);
            assertArrayEquals(new int[]{0, 1, 2, 3}, r.indices().get(0), "no shuffle: dataset order");
            assertEquals(2, r.labels().get(3)[0]);
            assertEquals(3 * 16 * 16, r.views().get(3)[0].length);
        }
    }

    @Test
    void corruptFilesAreReplacedCountedAndNamedOrStopTheRunWhenStrict() throws IOException {
        Path root = dir.resolve("withbad");
        for (int i = 0; i < 6; i++) {
            Path f = root.resolve(i < 3 ? "a" : "b").resolve("x" + i + ".jpg");
            Files.createDirectories(f.getParent());
            ImageWriters.writeJpeg(TestImages.natural(30, 20, i), f, 0.9f);
        }
        Files.write(root.resolve("a/x1.jpg"), new byte[0]);
        byte[] good = Files.readAllBytes(root.resolve("b/x4.jpg"));
        Files.write(root.resolve("b/x4.jpg"), Arrays.copyOf(good, good.length / 2));
        ImageFolder bad = ImageFolder.open(root);
        try (DataLoader l = DataLoader.builder(bad, List.of(TrainView.of(16))).batchSize(3).workers(2).seed(3).build()) {
            for (int e = 0; e < 2; e++) {
                Run r = runEpoch(l, e);
                for (int[] ix : r.indices()) for (int i : ix) assertFalse(bad.describe(i).endsWith("x1.jpg") || bad.describe(i).endsWith("x4.jpg"));
                for (float[][] v : r.views()) for (float x : v[0]) assertTrue(Float.isFinite(x));
            }
            assertEquals(List.of(bad.describe(1), bad.describe(4)), l.failures().files());
            assertEquals(4, l.failures().count(), "met once per epoch each");
            assertEquals(4, l.stats().decodeFailures());
        }
        try (DataLoader l = DataLoader.builder(bad, List.of(TrainView.of(16))).batchSize(3).workers(2).shuffle(false)
                .unreadable(UnreadableImages.FAIL).build()) {
            UnreadableImageException e = assertThrows(UnreadableImageException.class, () -> runEpoch(l, 0));
            assertEquals("unreadable image " + bad.describe(1) + ": empty file", e.getMessage());
            assertEquals(bad.describe(1), e.file());
        }
    }

    @Test
    void skippedUnreadableImagesKeepTheirPlaceWithZeroPixelsAndAreMarked() throws IOException {
        Path root = dir.resolve("skip");
        for (int i = 0; i < 5; i++) {
            Path f = root.resolve("a").resolve("x" + i + ".png");
            Files.createDirectories(f.getParent());
            ImageWriters.writePng(TestImages.natural(20, 20, i), f);
        }
        Files.write(root.resolve("a/x2.png"), new byte[]{1, 2, 3});
        ImageFolder data = ImageFolder.open(root);
        try (DataLoader l = DataLoader.builder(data, List.of(TrainView.of(16))).batchSize(5).workers(2).shuffle(false).dropLast(false)
                .normalize(Normalize.IMAGENET).unreadable(UnreadableImages.SKIP).build()) {
            var it = l.epoch(0);
            Batch b = it.next();
            assertArrayEquals(new int[]{0, 1, 2, 3, 4}, b.indices(), "no neighbour stands in for the unreadable image");
            assertArrayEquals(new boolean[]{false, false, true, false, false}, b.unreadable());
            float[] v = b.images().toFloatArray();
            int per = 3 * 16 * 16;
            for (int j = 2 * per; j < 3 * per; j++) assertEquals(0f, v[j]);
            assertEquals(List.of(data.describe(2)), l.failures().files());
        }
    }

    @Test
    void statsReportThroughputAndDataWait() {
        try (DataLoader l = DataLoader.builder(folder, moco(16)).batchSize(4).workers(2).seed(1).build()) {
            runEpoch(l, 0);
            LoaderStats s = l.stats();
            assertEquals(3, s.batches());
            assertEquals(12, s.samples());
            assertTrue(s.dataWait() >= 0 && s.dataWait() <= 1, s.toString());
            assertTrue(s.imagesPerSecond() > 0);
            assertTrue(s.decodeNanos() > 0 && s.augmentNanos() > 0);
            assertTrue(s.toString().contains("images/s"));
        }
    }

    @Test
    void fashionMnistSubsetLoadsAsOneChannelTensors() throws IOException {
        Assumptions.assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_DIR), "skipped: dataset-fashion-mnist is not installed");
        SubsetDataset train = PerClassSplit.split(FashionMnist.train(FashionMnist.DEFAULT_DIR), 5, 2, 2).getFirst();
        Normalize gray = new Normalize(new float[]{0.2860f}, new float[]{0.3530f});
        try (DataLoader l = DataLoader.builder(train, List.of(TrainView.of(28))).normalize(gray).batchSize(5).workers(2).seed(9).build()) {
            Batch b = l.epoch(0).next();
            assertArrayEquals(new int[]{5, 1, 28, 28}, b.images().shape());
            for (long lab : b.labels().toLongArray()) assertTrue(lab >= 0 && lab < 10);
        }
    }

    @Test
    void closedLoaderAndAbandonedEpochs() {
        DataLoader l = DataLoader.builder(folder, moco(16)).batchSize(4).workers(2).build();
        DataLoader.Epoch e = l.epoch(0);
        e.next();
        DataLoader.Epoch e2 = l.epoch(1); // abandon epoch 0 half way
        assertThrows(IllegalStateException.class, e::next);
        assertEquals(3, runEpochOf(e2));
        l.close();
        assertThrows(IllegalStateException.class, () -> l.epoch(2));
        l.close(); // idempotent
    }

    static int runEpochOf(DataLoader.Epoch e) {
        int n = 0;
        while (e.hasNext()) { e.next(); n++; }
        return n;
    }

    /** Records the scale each decode was allowed to use. */
    static final class ScaleSpy implements ImageDecoder {
        final ImageDecoder inner;
        final List<Double> scales = java.util.Collections.synchronizedList(new ArrayList<>());
        ScaleSpy(ImageDecoder inner) { this.inner = inner; }
        @Override public String name() { return "spy"; }
        @Override public boolean supportsScaling() { return inner.supportsScaling(); }
        @Override public ImageInfo probe(byte[] d, String f) throws dvp.training.data.decode.CorruptImageException { return inner.probe(d, f); }
        @Override public Decoded decode(byte[] d, String f, double m) throws dvp.training.data.decode.CorruptImageException {
            Decoded r = inner.decode(d, f, m);
            scales.add(r.scale());
            return r;
        }
    }

    @Test
    void dctScalingKicksInOnlyWhenTheTargetIsMuchSmaller() throws IOException {
        Assumptions.assumeTrue(TurboJpegDecoder.available(), () -> "skipped: " + TurboJpegDecoder.unavailableReason());
        Path root = dir.resolve("big");
        Path f = root.resolve("k").resolve("big.jpg");
        Files.createDirectories(f.getParent());
        ImageWriters.writeJpeg(TestImages.natural(1200, 900, 5), f, 0.9f);
        ImageFolder big = ImageFolder.open(root);
        TurboJpegDecoder tj = new TurboJpegDecoder(Decoders.imageIo());
        float[] scaled, full;
        // eval at 64: resize to 85 px on the short side; 900 px is > 8x → decoded at 1/4 (225 ≥ 2·85)
        ScaleSpy spy = new ScaleSpy(tj);
        SampleProcessor p = new SampleProcessor(big, List.of(EvalView.of(64)), Normalize.IMAGENET, spy, 2.0, 1);
        scaled = processOne(p);
        assertEquals(List.of(0.25), spy.scales);
        ScaleSpy off = new ScaleSpy(tj);
        full = processOne(new SampleProcessor(big, List.of(EvalView.of(64)), Normalize.IMAGENET, off, 0.0, 1));
        assertEquals(List.of(1.0), off.scales, "dctOversample 0: full decode, as torchvision");
        double mae = 0;
        for (int i = 0; i < full.length; i++) mae += Math.abs(full[i] - scaled[i]);
        mae = mae / full.length * 255 * 0.225;
        assertTrue(mae < 3, "scaled decode stays close to the full-resolution result: " + mae + "/255");
        // a 224 view needs 2·256 = 512 of the 900 rows: the smallest k/8 ≥ 0.569 is 5/8
        ScaleSpy big224 = new ScaleSpy(tj);
        processOne(new SampleProcessor(big, List.of(EvalView.of(224)), Normalize.IMAGENET, big224, 2.0, 1));
        assertEquals(List.of(0.625), big224.scales);
        // a 448 view needs 2·512 > 900 rows: full decode
        ScaleSpy big448 = new ScaleSpy(tj);
        processOne(new SampleProcessor(big, List.of(EvalView.of(448)), Normalize.IMAGENET, big448, 2.0, 1));
        assertEquals(List.of(1.0), big448.scales);
    }

    static float[] processOne(SampleProcessor p) throws IOException {
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var seg = arena.allocate(p.viewElements(0) * 4);
            p.process(0, 0, new java.lang.foreign.MemorySegment[]{seg}, new long[]{0}, new long[2]);
            return seg.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
        }
    }
}
