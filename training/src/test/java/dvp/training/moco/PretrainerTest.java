package dvp.training.moco;

import dvp.engine.io.SafetensorsFile;
import dvp.engine.spi.Backends;
import dvp.training.loop.ScheduleSpec;
import dvp.training.model.ModelExports;
import dvp.training.observe.ProgressMode;
import dvp.training.run.BadInputException;
import dvp.training.run.Json;
import dvp.training.run.RunInterruptedException;
import dvp.training.run.StopSignal;
import dvp.training.session.SessionOptions;
import dvp.training.session.TrainingSession;
import dvp.training.testing.ShapesDataset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PretrainerTest {
    @TempDir
    Path dir;

    @AfterEach
    void clearStop() { StopSignal.reset(); }

    /** Tiny phase 1: 16 px grayscale shapes, batch 16, K 64, 2 BN splits. */
    static PretrainConfig tinyConfig(int epochs) {
        return PretrainConfig.defaults().with(b -> {
            b.model = ShapesDataset.tinyModel(1);
            b.imageSize = 16;
            b.epochs = epochs;
            b.batchSize = 16;
            b.queueSize = 64;
            b.dim = 16;
            b.bnSplits = 2;
            b.workers = 2;
            b.logEvery = 2;
            b.seed = 3;
        });
    }

    static SessionOptions options(Path run, Path resume) {
        return SessionOptions.defaults().withRunDir(run).withResume(resume).withProgress(ProgressMode.NONE);
    }

    static float[] train(PretrainConfig cfg, Path run, Path resume) throws Exception {
        try (TrainingSession s = TrainingSession.open("pretrain", options(run, resume), cfg, Backends.cpu());
             Pretrainer p = new Pretrainer(cfg, new ShapesDataset(64, 16, 1, 1), ShapesDataset.normalize(1), Backends.cpu(), s)) {
            p.train();
            return PretrainProcess.fingerprint(p);
        }
    }

    @Test
    void runFolderMetricsCheckpointAndBackboneExport() throws Exception {
        Path run = dir.resolve("run");
        train(tinyConfig(2), run, null);
        List<String> csv = Files.readAllLines(run.resolve("metrics/train.csv"));
        assertTrue(csv.getFirst().contains("loss") && csv.getFirst().contains("acc") && csv.getFirst().contains("lr")
                && csv.getFirst().contains("img_per_s") && csv.getFirst().contains("data_wait"), csv.getFirst());
        assertEquals(1 + 4, csv.size(), "2 epochs x 4 steps, one row per 2 steps: " + csv);
        var manifest = Json.readFile(run.resolve("checkpoints/last/checkpoint.json"));
        assertEquals(8, manifest.get("step").asLong());
        for (String part : new String[]{"encoder_q", "encoder_k", "queue", "optimizer", "loop"})
            assertTrue(manifest.get("state").has(part), part);
        assertEquals("resnet18", manifest.get("config").get("model").get("arch").asText());

        Path backbone = run.resolve("export/backbone.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(backbone)) {
            assertTrue(f.names().contains("conv1.weight") && f.names().contains("layer4.0.bn2.running_var"));
            assertFalse(f.names().stream().anyMatch(n -> n.startsWith("fc.")), "no MLP head in the export: " + f.names());
            assertEquals("backbone", f.metadata().get(ModelExports.KIND));
        }
        // the same weights come back from the checkpoint (encoder_q without its head)
        try (var scope = dvp.engine.Scope.open("read")) {
            ModelExports.Weights fromFile = ModelExports.read(backbone, Backends.cpu());
            ModelExports.Weights fromCkpt = ModelExports.read(run, Backends.cpu());
            assertEquals(fromFile.tensors().keySet(), fromCkpt.tensors().keySet());
            assertEquals(ShapesDataset.tinyModel(1), fromFile.spec());
            assertEquals(fromFile.spec(), fromCkpt.spec());
            for (String k : fromFile.tensors().keySet())
                if (fromFile.tensors().get(k).dtype() == dvp.engine.DType.F32)
                    assertArrayEquals(fromFile.tensors().get(k).toFloatArray(), fromCkpt.tensors().get(k).toFloatArray(), k);
        }
    }

    @Test
    void lossDropsOverTraining() throws Exception {
        // a fresh random queue makes the first steps easy; what must improve is the accuracy at
        // telling a key from the (by then real) negatives: compare epoch 2 with the last
        PretrainConfig cfg = tinyConfig(6).with(b -> {
            b.optim = b.optim.withLr(0.1);
            b.schedule = ScheduleSpec.constant();
        });
        Path run = dir.resolve("learn");
        train(cfg, run, null);
        List<String> rows = Files.readAllLines(run.resolve("metrics/epoch.csv"));
        List<String> header = List.of(rows.getFirst().split(","));
        int loss = header.indexOf("loss");
        double second = Double.parseDouble(rows.get(2).split(",")[loss]), last = Double.parseDouble(rows.getLast().split(",")[loss]);
        assertTrue(last < second, "epoch loss should fall: epoch 2 " + second + ", epoch 6 " + last + "\n" + rows);
    }

    @Test
    void resumeAfterInterruptIsBitIdentical() throws Exception {
        PretrainConfig cfg = tinyConfig(2);
        float[] expected = train(cfg, dir.resolve("a"), null);
        Path run = dir.resolve("b");
        // interrupt mid-epoch (after 3 of 4 steps of the first epoch): a checkpoint is written there
        try (TrainingSession s = TrainingSession.open("pretrain", options(run, null), cfg, Backends.cpu());
             Pretrainer p = new Pretrainer(cfg, new ShapesDataset(64, 16, 1, 1), ShapesDataset.normalize(1), Backends.cpu(), s)) {
            p.stopAt(3);
            RunInterruptedException e = assertThrows(RunInterruptedException.class, p::train);
            assertEquals(3, e.step());
        }
        StopSignal.reset();
        float[] resumed = train(cfg, run, run);
        assertArrayEquals(expected, resumed, "encoders, queue and pointer after resuming");
    }

    @Test
    void badSettingsAreOneLineErrors() {
        var e1 = assertThrows(BadInputException.class, () -> tinyConfig(1).with(b -> b.queueSize = 60).validate());
        assertTrue(e1.getMessage().contains("--queue-size 60 is not a multiple of --batch-size 16"), e1.getMessage());
        var e2 = assertThrows(BadInputException.class, () -> tinyConfig(1).with(b -> b.model = b.model.withWidth(0)).validate());
        assertTrue(e2.getMessage().startsWith("--width"), e2.getMessage());
        var e3 = assertThrows(BadInputException.class,
                () -> tinyConfig(1).with(b -> b.model = dvp.training.model.ModelSpec.of("resnet51")).validate());
        assertTrue(e3.getMessage().contains("unknown architecture 'resnet51'"), e3.getMessage());
        var e4 = assertThrows(BadInputException.class, () -> tinyConfig(1).with(b -> b.bnSplits = 3).validate());
        assertTrue(e4.getMessage().contains("--bn-splits 3"), e4.getMessage());
        var e5 = assertThrows(BadInputException.class, () -> tinyConfig(1).with(b -> b.augmentation = "simclr").validate());
        assertTrue(e5.getMessage().contains("--augmentation"), e5.getMessage());
        var e6 = assertThrows(BadInputException.class, () -> tinyConfig(1).with(b -> b.schedule = new ScheduleSpec("linear", null, 0.1)).validate());
        assertTrue(e6.getMessage().contains("--schedule"), e6.getMessage());
        // more images per batch than the data has
        var e7 = assertThrows(BadInputException.class, () -> {
            PretrainConfig cfg = tinyConfig(1).with(b -> { b.batchSize = 64; b.queueSize = 128; });
            try (TrainingSession s = TrainingSession.open("pretrain", options(dir.resolve("e7"), null), cfg, Backends.cpu());
                 Pretrainer p = new Pretrainer(cfg, new ShapesDataset(32, 16, 1, 1), ShapesDataset.normalize(1), Backends.cpu(), s)) {
                p.train();
            }
        });
        assertTrue(e7.getMessage().contains("--batch-size 64 is larger than the training set (32 images)"), e7.getMessage());
        for (var e : List.of(e1, e2, e3, e4, e5, e6, e7)) assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
