package dvp.training.pipeline;

import dvp.engine.spi.Backends;
import dvp.training.data.decode.ImageWriters;
import dvp.training.loop.OptimSpec;
import dvp.training.moco.PretrainConfig;
import dvp.training.observe.ProgressMode;
import dvp.training.run.BadInputException;
import dvp.training.run.Json;
import dvp.training.session.SessionOptions;
import dvp.training.supervised.ClassifierConfig;
import dvp.training.testing.ShapesDataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PipelineTest {
    @TempDir
    Path dir;

    /** ImageFolders train/val/test of the shapes, RGB PNGs. */
    private Path writeFolders() throws Exception {
        Path root = dir.resolve("data");
        int[] sizes = {32, 8, 8};
        String[] splits = {"train", "val", "test"};
        for (int s = 0; s < 3; s++) {
            ShapesDataset d = new ShapesDataset(sizes[s], 16, 3, 100 + s);
            for (int i = 0; i < d.size(); i++) {
                Path f = Files.createDirectories(root.resolve(splits[s]).resolve(ShapesDataset.CLASSES.get(d.label(i))));
                ImageWriters.writePng(d.image(i), f.resolve(i + ".png"));
            }
        }
        return root;
    }

    private static PipelineConfig tiny(Path root) {
        PretrainConfig pre = PretrainConfig.defaults().with(b -> {
            b.model = ShapesDataset.tinyModel(3);
            b.imageSize = 16;
            b.epochs = 1;
            b.batchSize = 8;
            b.queueSize = 16;
            b.dim = 8;
            b.bnSplits = 2;
            b.workers = 2;
        });
        PipelineConfig c = new PipelineConfig(DataSpec.folder(root), pre, ClassifierConfig.distillation(), true, ClassifierConfig.finetune(),
                ClassifierConfig.linearEval(), ClassifierConfig.finetune(), false);
        return c.withClassifiers(k -> k.with(b -> {
            b.imageSize = 16;
            b.evalResize = 16;
            b.epochs = 1;
            b.batchSize = 8;
            b.workers = 2;
            if (b.mode.equals("linear")) b.optim = new OptimSpec(0.5, 0.9, 0, false);
            if (b.distill != null) b.distill = b.distill.withWarmupEpochs(0);
        }));
    }

    @Test
    void allStagesThenTableThenResumeReusesThem() throws Exception {
        Path root = writeFolders(), out = dir.resolve("pipe");
        SessionOptions o = SessionOptions.defaults().withProgress(ProgressMode.NONE);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Pipeline.Result r = new Pipeline(tiny(root), o, Backends.cpu(), new PrintStream(log, true)).run(out);
        assertEquals(List.of("Supervised (random init)", "Phase-1 + linear (finetune fc)", "Phase-1 + finetune", "Phase-1 + Phase-2 (ours)"),
                r.rows().stream().map(ResultRow::method).toList());
        for (ResultRow row : r.rows()) {
            assertTrue(row.testTop1() >= 0 && row.testTop1() <= 1, row.toString());
            assertTrue(row.valTop1Last() >= 0 && row.valTop1Last() <= 1, row.toString());
            assertTrue(Files.exists(Path.of(row.model())), row.model());
        }
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| Phase-1 + Phase-2 (ours) | 1 | 1 |"), md);
        assertTrue(md.contains("| 44.6 |") && md.contains("| 27.9 |"), "the paper's numbers for reference: " + md);
        for (String stage : new String[]{"pretrain", "distill", "supervised", "linear", "finetune"})
            assertTrue(Files.exists(out.resolve(stage).resolve("result.json")), stage);
        assertEquals(4, Json.readFile(out.resolve("results.json")).get("rows").size());

        // again on the same folder: every stage is reused, the table is the same
        ByteArrayOutputStream log2 = new ByteArrayOutputStream();
        Pipeline.Result again = new Pipeline(tiny(root), o, Backends.cpu(), new PrintStream(log2, true)).run(out);
        assertEquals(5, log2.toString().lines().filter(l -> l.contains("already finished")).count(), log2.toString());
        assertEquals(r.rows().stream().map(ResultRow::testTop1).toList(), again.rows().stream().map(ResultRow::testTop1).toList());
    }

    @Test
    void badSettingsAreReportedBeforeAnythingRuns() throws Exception {
        Path root = writeFolders();
        PipelineConfig bad = tiny(root).withPretrain(p -> p.with(b -> b.queueSize = 12));
        BadInputException e = assertThrows(BadInputException.class,
                () -> new Pipeline(bad, SessionOptions.defaults(), Backends.cpu(), System.err).prepare());
        assertTrue(e.getMessage().contains("--queue-size 12"), e.getMessage());
        PipelineConfig gray = tiny(root).withPretrain(p -> p.with(b -> b.model = ShapesDataset.tinyModel(1)));
        BadInputException c = assertThrows(BadInputException.class,
                () -> new Pipeline(gray, SessionOptions.defaults(), Backends.cpu(), System.err).prepare());
        assertTrue(c.getMessage().contains("the images have 3 channels but the network, resnet18 (1-channel input"), c.getMessage());
        assertTrue(c.getMessage().contains("leave --in-channels out"), "says how to fix it: " + c.getMessage());
        BadInputException fm = assertThrows(BadInputException.class, () -> DataSpec.parse("fashion-mnist:" + dir.resolve("none")).open());
        assertTrue(fm.getMessage().contains("Fashion-MNIST not found"), fm.getMessage());
        assertFalse(Files.exists(dir.resolve("runs")));
    }

    @Test
    void aTestFolderWithOtherClassesIsAnErrorNotShiftedLabels() throws Exception {
        Path root = writeFolders();
        // test/ without "hole" (sorted index 1): ImageFolder would label hstripes 1, the model's index of hole
        Path gone = root.resolve("test").resolve("hole");
        try (var files = Files.list(gone)) {
            for (Path f : files.toList()) Files.delete(f);
        }
        Files.delete(gone);
        BadInputException e = assertThrows(BadInputException.class,
                () -> new Pipeline(tiny(root), SessionOptions.defaults(), Backends.cpu(), System.err).prepare());
        assertTrue(e.getMessage().contains("the test set's classes differ from the training set's (3 vs 4: index 1: 'hstripes' vs 'hole'"), e.getMessage());
    }

    @Test
    void missingDefaultFashionMnistSaysHowToInstallIt() {
        DataSpec d = DataSpec.fashionMnist(50, 50);
        if (Files.exists(d.root().resolve("train-images-idx3-ubyte.gz"))) {
            DataSpec.Splits s = d.open();
            assertEquals(500, s.train().size());
            assertEquals(500, s.val().size());
            assertEquals(10000, s.test().size());
            return;
        }
        BadInputException e = assertThrows(BadInputException.class, d::open);
        assertTrue(e.getMessage().endsWith("install it with: apt-get install dataset-fashion-mnist"), e.getMessage());
    }
}
