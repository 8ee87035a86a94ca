package dvp.training.eval;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backends;
import dvp.nn.Module;
import dvp.training.data.ImageDataset;
import dvp.training.data.SampleSource;
import dvp.training.data.UnlabeledImages;
import dvp.training.data.decode.ImageWriters;
import dvp.training.data.image.Image8;
import dvp.training.data.transforms.Normalize;
import dvp.training.testing.ShapesDataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvaluatorTest {
    @TempDir
    Path dir;

    /**
     * A "classifier" that reads the image: class scores are fixed functions of pixel sums, so the
     * expected softmax of every view can be computed by hand from the evaluation views.
     */
    static final class PixelProbe extends Module {
        final float scale;

        PixelProbe(float scale) { this.scale = scale; }

        @Override
        public Tensor forward(Tensor x) {
            int n = x.dim(0), per = (int) (x.numel() / n), side = x.dim(2);
            float[] v = x.toFloatArray(), logits = new float[n * 4];
            for (int i = 0; i < n; i++) {
                double[] z = scores(v, i * per, per, side, scale);
                for (int c = 0; c < 4; c++) logits[i * 4 + c] = (float) z[c];
            }
            return Tensor.of(x.backend(), logits, n, 4);
        }

        /** Row-band means (invariant to the horizontal flips of TenCrop, so no two classes tie by symmetry). */
        static double[] scores(float[] v, int off, int per, int side, float scale) {
            double[] band = new double[4];
            for (int j = 0; j < per; j++) {
                int row = j / side % side;
                band[Math.min(3, row * 4 / side)] += v[off + j];
            }
            double[] z = new double[4];
            for (int c = 0; c < 4; c++) z[c] = (float) (scale * band[c] * 4 / per + 0.37 * c);
            return z;
        }
    }

    private static double[] softmax(double[] z) {
        double m = Double.NEGATIVE_INFINITY, s = 0;
        for (double v : z) m = Math.max(m, v);
        double[] p = new double[z.length];
        for (int i = 0; i < z.length; i++) s += p[i] = Math.exp(z[i] - m);
        for (int i = 0; i < z.length; i++) p[i] /= s;
        return p;
    }

    @Test
    void tenCropAndEnsembleAverageSoftmaxOverViewsAndModels() {
        ShapesDataset data = new ShapesDataset(10, 16, 1, 4);
        Normalize norm = Normalize.none(1);
        EvalOptions opt = new EvalOptions(12, 14, true, 40, 1);
        List<PixelProbe> models = List.of(new PixelProbe(3f), new PixelProbe(-5f));
        EvalResult got;
        try (Scope s = Scope.open("t"); Evaluator ev = new Evaluator(data, norm, opt, Backends.cpu())) {
            got = ev.run(models);
        }
        // by hand: every view of every image through every model, softmax, mean, argmax
        int hit1 = 0;
        int[] expectPred = new int[data.size()];
        for (int i = 0; i < data.size(); i++) {
            double[] acc = new double[4];
            for (var view : opt.views()) {
                Image8 im = view.apply(data.image(i), view.sample(new Rng(0), 16, 16));
                float[] chw = norm.toChw(im);
                for (PixelProbe m : models) {
                    double[] p = softmax(PixelProbe.scores(chw, 0, chw.length, 12, m.scale));
                    for (int c = 0; c < 4; c++) acc[c] += p[c];
                }
            }
            expectPred[i] = Evaluator.argmax(acc);
            if (Evaluator.rank(acc, data.label(i)) == 0) hit1++;
        }
        assertArrayEquals(expectPred, got.predictions());
        assertEquals((double) hit1 / data.size(), got.top1());
        assertEquals(10, got.count());
        assertTrue(got.labelled());
        assertEquals(1.0, got.top5(), "4 classes: every label is in the top 4");
    }

    @Test
    void nonFiniteLogitsAreAnErrorNamingTheModelNeverAScore() {
        // NaN compares false, so the label would rank first: before, this scored 100 % top-1 and predicted class 0
        ShapesDataset data = new ShapesDataset(6, 16, 1, 4);
        try (Scope s = Scope.open("t"); Evaluator ev = new Evaluator(data, Normalize.none(1), EvalOptions.centerCrop(16).withResize(16), Backends.cpu())) {
            var e = assertThrows(dvp.training.run.NonFiniteOutputException.class,
                    () -> ev.run(List.of(new PixelProbe(1f), new PixelProbe(Float.NaN)), List.of("good.safetensors", "broken.safetensors")));
            assertTrue(e.getMessage().startsWith("broken.safetensors gives NaN logits (image " + data.describe(0) + ", class 0)"), e.getMessage());
            var inf = assertThrows(dvp.training.run.NonFiniteOutputException.class, () -> ev.run(new PixelProbe(Float.POSITIVE_INFINITY)));
            assertTrue(inf.getMessage().startsWith("the model gives "), inf.getMessage());
        }
    }

    /** ShapesDataset with sample {@code broken} replaced by bytes that are no image. */
    private static ImageDataset withUnreadable(ShapesDataset base, int broken) {
        return new ImageDataset() {
            @Override public int size() { return base.size(); }
            @Override public List<String> classes() { return base.classes(); }
            @Override public int label(int index) { return base.label(index); }
            @Override public String describe(int index) { return "img" + index + ".png"; }
            @Override public SampleSource read(int index) throws java.io.IOException {
                return index == broken ? new SampleSource.Encoded(new byte[]{1, 2, 3}) : base.read(index);
            }
        };
    }

    @Test
    void anUnreadableImageStopsTheEvaluationOrIsLeftOutAndListedNeverReplaced() {
        ShapesDataset base = new ShapesDataset(9, 16, 1, 4);
        ImageDataset data = withUnreadable(base, 4);
        EvalOptions opt = EvalOptions.centerCrop(16).withResize(16).withBatchSize(4);
        PixelProbe model = new PixelProbe(3f);
        try (Scope s = Scope.open("t")) {
            try (Evaluator ev = new Evaluator(data, Normalize.none(1), opt, Backends.cpu())) {
                var e = assertThrows(dvp.training.data.loader.UnreadableImageException.class, () -> ev.run(model));
                assertTrue(e.getMessage().startsWith("unreadable image img4.png: "), e.getMessage());
            }
            EvalResult all, skipped;
            try (Evaluator ev = new Evaluator(base, Normalize.none(1), opt, Backends.cpu())) {
                all = ev.run(model);
            }
            try (Evaluator ev = new Evaluator(data, Normalize.none(1), opt.withSkipUnreadable(true), Backends.cpu())) {
                skipped = ev.run(model);
            }
            assertEquals(List.of("img4.png"), skipped.unreadable());
            assertEquals(8, skipped.count(), "8 images scored, the unreadable one is not counted (before: its neighbour was, twice)");
            assertEquals(-1, skipped.predictions()[4]);
            int hits = 0;
            for (int i = 0; i < 9; i++) {
                if (i == 4) continue;
                assertEquals(all.predictions()[i], skipped.predictions()[i], "image " + i);
                if (all.predictions()[i] == base.label(i)) hits++;
            }
            assertEquals(hits / 8.0, skipped.top1(), 1e-12);
        }
    }

    @Test
    void topKCountsTiesInTorchOrder() {
        assertEquals(0, Evaluator.rank(new double[]{0.5, 0.5}, 0));
        assertEquals(1, Evaluator.rank(new double[]{0.5, 0.5}, 1));
        assertEquals(2, Evaluator.rank(new double[]{0.1, 0.6, 0.3}, 0));
    }

    @Test
    void submissionHasEveryTestImageOnceAndIsVerified() throws Exception {
        Path imgs = Files.createDirectories(dir.resolve("test/imgs"));
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Path f = imgs.resolve("img_" + i + ".png");
            ImageWriters.writePng(Image8.filled(8, 8, 10 * i, 0, 0), f);
            files.add(f);
        }
        UnlabeledImages test = new UnlabeledImages(files);
        List<String> wnids = List.of("n01440764", "n01443537", "n01484850");
        Path csv = dir.resolve("sub.csv");
        assertEquals(5, Submission.write(csv, test, new int[]{0, 2, 1, 1, 0}, wnids));
        assertEquals(List.of("Image IDs,Predictions", "img_0.png,0", "img_1.png,2", "img_2.png,1", "img_3.png,1", "img_4.png,0"), Files.readAllLines(csv));
        assertThrows(IllegalStateException.class, () -> Submission.write(csv, test, new int[]{0, 1, 2}, wnids), "a prediction per image");
        assertThrows(IllegalStateException.class, () -> Submission.write(csv, test, new int[]{0, 1, 2, 3, 0}, wnids), "class index range");
        IllegalStateException order = assertThrows(IllegalStateException.class,
                () -> Submission.write(csv, test, new int[]{0, 1, 2, 0, 0}, List.of("n01443537", "n01440764", "n01484850")));
        assertTrue(order.getMessage().contains("not in sorted order"), order.getMessage());
        Files.writeString(csv, "Image IDs,Predictions\nimg_0.png,0\nimg_1.png,2\nimg_1.png,2\nimg_3.png,1\n");
        IllegalStateException twice = assertThrows(IllegalStateException.class, () -> Submission.verify(csv, test, 3));
        assertTrue(twice.getMessage().contains("img_1.png appears twice"), twice.getMessage());
        Files.writeString(csv, "Image IDs,Predictions\nimg_0.png,0\nimg_1.png,2\n");
        IllegalStateException missing = assertThrows(IllegalStateException.class, () -> Submission.verify(csv, test, 3));
        assertTrue(missing.getMessage().contains("3 of 5 test images have no row"), missing.getMessage());
        assertFalse(missing.getMessage().contains("\n"));
    }

    @Test
    void unlabelledDataGivesPredictionsWithoutAccuracy() {
        ShapesDataset base = new ShapesDataset(6, 16, 1, 1);
        ImageDataset unlabelled = new ImageDataset() {
            @Override public int size() { return 6; }
            @Override public List<String> classes() { return List.of(); }
            @Override public int label(int index) { return -1; }
            @Override public String describe(int index) { return "u" + index; }
            @Override public SampleSource read(int index) { return base.read(index); }
        };
        try (Scope s = Scope.open("t"); Evaluator ev = new Evaluator(unlabelled, Normalize.none(1), EvalOptions.centerCrop(16).withResize(16), Backends.cpu())) {
            EvalResult r = ev.run(new PixelProbe(1f));
            assertEquals(6, r.predictions().length);
            assertFalse(r.labelled());
            assertTrue(Double.isNaN(r.top1()));
        }
    }

    @Test
    void metricsComeTop1ThenTop5() {
        var m = new EvalResult(3, new int[]{0, 1, 2}, 0.5, 0.75, true).metrics("val_");
        assertEquals(java.util.List.of("val_top1", "val_top5"), java.util.List.copyOf(m.keySet()), "CSV column order");
        assertEquals(0.5, m.get("val_top1"));
        assertEquals(0.75, m.get("val_top5"));
    }
}
