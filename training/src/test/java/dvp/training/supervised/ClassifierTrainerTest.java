package dvp.training.supervised;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.io.SafetensorsFile;
import dvp.engine.spi.Backends;
import dvp.nn.models.ResNet;
import dvp.nn.optim.Sgd;
import dvp.training.distill.DistillSpec;
import dvp.training.model.ModelExports;
import dvp.training.model.ModelSpec;
import dvp.training.observe.ProgressMode;
import dvp.training.run.BadInputException;
import dvp.training.run.Json;
import dvp.training.run.RunInterruptedException;
import dvp.training.session.SessionOptions;
import dvp.training.session.TrainingSession;
import dvp.training.testing.ShapesDataset;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Linear eval, fine-tuning and distillation on the tiny network: learning, state invariants, bad input. */
class ClassifierTrainerTest {
    @TempDir
    Path dir;
    private Path backbone;
    private final ShapesDataset train = new ShapesDataset(64, 16, 1, 11), val = new ShapesDataset(32, 16, 1, 12);

    /** A "pretrained" backbone file: a seeded random tiny network, written as phase 1 exports it. */
    @BeforeEach
    void writeBackbone() throws Exception {
        backbone = dir.resolve("backbone.safetensors");
        try (Scope s = Scope.open("backbone")) {
            ResNet net = ShapesDataset.tinyModel(1).build(16, new Rng(77));
            ModelExports.save(backbone, net, ShapesDataset.tinyModel(1), ModelExports.Kind.BACKBONE, List.of(), null);
        }
    }

    private static ClassifierConfig tiny(ClassifierConfig base, Consumer<ClassifierConfig.Builder> more) {
        return base.with(b -> {
            b.imageSize = 16;
            b.evalResize = 16;
            b.epochs = 3;
            b.batchSize = 16;
            b.workers = 2;
            b.logEvery = 2;
            b.evalBatchSize = 32;
            b.seed = 5;
        }).with(more);
    }

    private TrainingSession session(String name, Path resume, ClassifierConfig cfg) throws Exception {
        return TrainingSession.open(name, SessionOptions.defaults().withRunDir(dir.resolve(name)).withResume(resume)
                .withProgress(ProgressMode.NONE), cfg, Backends.cpu());
    }

    private static List<Double> column(Path csv, String name) throws Exception {
        List<String> rows = Files.readAllLines(csv);
        int c = List.of(rows.getFirst().split(",")).indexOf(name);
        return rows.subList(1, rows.size()).stream().map(r -> Double.parseDouble(r.split(",")[c])).toList();
    }

    private static Map<String, float[]> snapshot(Map<String, Tensor> sd) {
        Map<String, float[]> m = new LinkedHashMap<>();
        sd.forEach((k, t) -> {
            if (t.dtype() == dvp.engine.DType.F32) m.put(k, t.toFloatArray());
        });
        return m;
    }

    @Test
    void supervisedFromScratchLearns() throws Exception {
        ClassifierConfig cfg = tiny(ClassifierConfig.supervised(ShapesDataset.tinyModel(1)), b -> { b.epochs = 4; b.evalEvery = 3; });
        try (TrainingSession s = session("sup", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, new ShapesDataset(192, 16, 1, 11), val, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            Path model = t.train();
            assertTrue(Files.exists(model));
            assertTrue(t.lastValidation().top1() > 0.5, "4-way shapes should be learnt well beyond chance: " + t.lastValidation().top1()
                    + "\n" + Files.readString(dir.resolve("sup/metrics/epoch.csv")));
        }
        List<Double> loss = column(dir.resolve("sup/metrics/epoch.csv"), "loss");
        assertTrue(loss.getLast() < loss.getFirst(), "loss falls: " + loss);
        assertEquals(List.of(3.0, 4.0), column(dir.resolve("sup/metrics/val.csv"), "epoch"), "validation every 3rd epoch and after the last");
        assertEquals(4, column(dir.resolve("sup/metrics/epoch.csv"), "loss").size());
        var manifest = Json.readFile(dir.resolve("sup/checkpoints/best/checkpoint.json"));
        assertEquals("val_top1", manifest.get("best").get("metric").asText());
        assertEquals(ShapesDataset.CLASSES.size(), manifest.get("classNames").size());
    }

    /**
     * Epoch means are per image, as the reference code's AverageMeter (update(loss, n=batch)): 40 images in
     * batches of 16, 16 and 8 (no drop-last) weigh the last step's loss half as much as the others.
     */
    @Test
    void epochMeansWeighEachStepByItsImages() throws Exception {
        ClassifierConfig cfg = tiny(ClassifierConfig.supervised(ShapesDataset.tinyModel(1)), b -> {
            b.epochs = 1;
            b.dropLast = false;
            b.logEvery = 1;
        });
        try (TrainingSession s = session("weighted", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, new ShapesDataset(40, 16, 1, 11), null, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            t.train();
        }
        List<Double> steps = column(dir.resolve("weighted/metrics/train.csv"), "loss");
        assertEquals(3, steps.size(), "one train row per step: " + steps);
        double weighted = (16 * steps.get(0) + 16 * steps.get(1) + 8 * steps.get(2)) / 40;
        double epoch = column(dir.resolve("weighted/metrics/epoch.csv"), "loss").getFirst();
        assertEquals(weighted, epoch, 1e-6 * Math.abs(weighted), "epoch loss is the per-image mean of the steps " + steps);
        double perStep = (steps.get(0) + steps.get(1) + steps.get(2)) / 3;
        assertTrue(Math.abs(perStep - weighted) > 1e-6 * Math.abs(weighted), "the test needs steps whose losses differ: " + steps);
    }

    /**
     * A mid-epoch checkpoint written before per-image means (loop state "epoch_count" steps and per-step
     * sums) resumes to the same epoch means as an uninterrupted run: the steps before it are full
     * batches, so steps x batch is its image count (x16 and /16 are exact in binary floating point).
     */
    @Test
    void aCheckpointWithPerStepSumsResumesToTheSameEpochMeans() throws Exception {
        ClassifierConfig cfg = tiny(ClassifierConfig.supervised(ShapesDataset.tinyModel(1)), b -> b.epochs = 2);
        try (TrainingSession s = session("whole", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, null, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            t.train();
        }
        try (TrainingSession s = session("old", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, null, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            t.stopAt(6); // 2 steps into epoch 2 (4 steps of 16 per epoch)
            assertThrows(RunInterruptedException.class, t::train);
        }
        Path manifest = dir.resolve("old/checkpoints/last/checkpoint.json");
        var root = (com.fasterxml.jackson.databind.node.ObjectNode) Json.readFile(manifest);
        var loop = (com.fasterxml.jackson.databind.node.ObjectNode) root.get("state").get("loop");
        assertEquals(32, loop.get("epoch_images").asLong(), "two full batches of epoch 2 so far");
        var bits = (com.fasterxml.jackson.databind.node.ArrayNode) loop.get("epoch_sum_bits");
        for (int i = 0; i < bits.size(); i++)
            bits.set(i, Double.doubleToRawLongBits(Double.longBitsToDouble(bits.get(i).asLong()) / 16));
        loop.remove("epoch_images");
        loop.put("epoch_count", 2);
        Json.writeFile(manifest, root);
        try (TrainingSession s = session("old", dir.resolve("old"), cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, null, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            t.train();
        }
        assertEquals(column(dir.resolve("whole/metrics/epoch.csv"), "loss"), column(dir.resolve("old/metrics/epoch.csv"), "loss"));
    }

    @Test
    void linearEvalTrainsOnlyFcOnAFrozenEvalModeBackbone() throws Exception {
        // lr 30 is for MoCo's features of a 2048-wide ResNet-50; a 64-wide random backbone wants less
        ClassifierConfig cfg = tiny(ClassifierConfig.linearEval(), b -> { b.pretrained = backbone; b.optim = b.optim.withLr(0.5); });
        Map<String, float[]> loaded;
        try (Scope sc = Scope.open("ref")) {
            loaded = snapshot(ModelExports.read(backbone, Backends.cpu()).tensors());
        }
        try (TrainingSession s = session("lin", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, val, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            float[] w = t.model().tensor("fc.weight").toFloatArray();
            double mean = 0, sq = 0;
            for (float v : w) { mean += v / w.length; sq += (double) v * v / w.length; }
            assertEquals(0.01, Math.sqrt(sq - mean * mean), 0.004, "fc ~ N(0, 0.01)");
            for (float v : t.model().tensor("fc.bias").toFloatArray()) assertEquals(0f, v);
            assertEquals(Set.of("fc.weight", "fc.bias"), t.optimizer().groups().getFirst().params().keySet());
            t.train();
            assertFalse(t.model().isTraining(), "the backbone stays in eval mode");
            Map<String, float[]> after = snapshot(t.model().stateDict());
            for (var e : loaded.entrySet()) assertArrayEquals(e.getValue(), after.get(e.getKey()), "backbone changed: " + e.getKey());
            for (Tensor p : t.model().namedParameters().values()) if (p != t.model().tensor("fc.weight") && p != t.model().tensor("fc.bias"))
                assertTrue(p.grad() == null, "frozen parameter got a gradient");
        }
        List<Double> loss = column(dir.resolve("lin/metrics/epoch.csv"), "loss");
        assertTrue(loss.getLast() < loss.getFirst(), "loss falls: " + loss);
    }

    @Test
    void distillationInvariants() throws Exception {
        ClassifierConfig cfg = tiny(ClassifierConfig.distillation(), b -> {
            b.pretrained = backbone;
            b.epochs = 3;
            b.distill = DistillSpec.defaults().withWarmupEpochs(1);
        });
        try (TrainingSession s = session("dist", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, val, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            ResNet teacher = t.distiller().teacher();
            // the student starts bit-identical to the teacher
            Map<String, float[]> teacher0 = snapshot(teacher.stateDict()), student0 = snapshot(t.model().stateDict());
            assertEquals(teacher0.keySet(), student0.keySet());
            for (String k : teacher0.keySet()) assertArrayEquals(teacher0.get(k), student0.get(k), k);
            for (int i = 0; i < 4; i++) for (float m : t.distiller().margin(i).toFloatArray()) assertTrue(m < 0, "margin " + m);
            // the teacher is in no optimizer and needs no grad; the connectors are optimised
            Set<Tensor> optimized = Collections.newSetFromMap(new IdentityHashMap<>());
            for (Sgd.Group g : t.optimizer().groups()) optimized.addAll(g.params().values());
            for (Tensor p : teacher.namedParameters().values()) {
                assertFalse(optimized.contains(p));
                assertFalse(p.requiresGrad());
            }
            for (Tensor p : t.distiller().connectors().namedParameters().values()) assertTrue(optimized.contains(p));
            assertTrue(t.optimizer().groups().getFirst().hyper().nesterov());
            t.train();
            Map<String, float[]> teacher1 = snapshot(teacher.namedParameters());
            for (var e : teacher1.entrySet()) assertArrayEquals(teacher0.get(e.getKey()), e.getValue(), "teacher changed: " + e.getKey());
            for (Tensor p : teacher.namedParameters().values()) assertTrue(p.grad() == null);
            assertFalse(java.util.Arrays.equals(student0.get("conv1.weight"), t.model().tensor("conv1.weight").toFloatArray()), "the student trains");
        }
        // CE only in the warm-up epoch, then CE + distillation
        List<Double> distill = column(dir.resolve("dist/metrics/epoch.csv"), "distill");
        List<Double> ce = column(dir.resolve("dist/metrics/epoch.csv"), "ce"), loss = column(dir.resolve("dist/metrics/epoch.csv"), "loss");
        assertEquals(0.0, distill.getFirst());
        assertTrue(distill.get(1) > 0 && distill.get(2) > 0, "distillation on from epoch 2: " + distill);
        for (int e = 0; e < 3; e++) assertEquals(ce.get(e) + distill.get(e), loss.get(e), 1e-4 * loss.get(e));
        // each stage's share is logged, and the shares add up to the term
        for (int e = 0; e < 3; e++) {
            double sum = 0;
            for (int i = 1; i <= 4; i++) sum += column(dir.resolve("dist/metrics/epoch.csv"), "distill_" + i).get(e);
            assertEquals(distill.get(e), sum, 1e-5 * Math.max(1, distill.get(e)), "epoch " + (e + 1));
        }
        // the exported student has no connectors and no teacher
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("dist/export/model.safetensors"))) {
            assertTrue(f.names().contains("fc.weight"));
            assertFalse(f.names().stream().anyMatch(n -> n.startsWith("connectors") || n.startsWith("teacher") || n.startsWith("0.")), f.names().toString());
            assertEquals("classifier", f.metadata().get(ModelExports.KIND));
        }
        var manifest = Json.readFile(dir.resolve("dist/checkpoints/last/checkpoint.json"));
        for (String part : new String[]{"student", "teacher", "connectors", "optimizer", "loop"}) assertTrue(manifest.get("state").has(part), part);
    }

    @Test
    void ablationsIdentityConnectorsAndZeroMargins() throws Exception {
        ClassifierConfig cfg = tiny(ClassifierConfig.distillation(), b -> {
            b.pretrained = backbone;
            b.epochs = 1;
            b.distill = DistillSpec.defaults().withWarmupEpochs(0).withConnectors("identity").withMargins("zero");
        });
        try (TrainingSession s = session("dist-ablate", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, null, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            assertTrue(t.distiller().connectors().namedParameters().isEmpty(), "identity connectors have nothing to train");
            for (int i = 0; i < 4; i++) for (float m : t.distiller().margin(i).toFloatArray()) assertEquals(0f, m);
            t.train();
        }
        assertTrue(column(dir.resolve("dist-ablate/metrics/epoch.csv"), "distill").getFirst() > 0);
        BadInputException e = assertThrows(BadInputException.class, () -> DistillSpec.defaults().withMargins("running").validate());
        assertTrue(e.getMessage().contains("--distill-margins"), e.getMessage());
        // identity needs the teacher's channels: a wider teacher is refused by name
        try (var sc = dvp.engine.Scope.open("t")) {
            ResNet narrow = ShapesDataset.tinyModel(1).build(4, new dvp.engine.Rng(1));
            ResNet wide = ShapesDataset.tinyModel(1).withWidth(ShapesDataset.tinyModel(1).widthMultiplier() * 2).build(4, new dvp.engine.Rng(1));
            BadInputException c = assertThrows(BadInputException.class, () -> new dvp.training.distill.OfdDistiller(wide, narrow,
                    DistillSpec.defaults().withConnectors("identity"), new dvp.engine.Rng(2)));
            assertTrue(c.getMessage().contains("--connectors identity"), c.getMessage());
        }
    }

    @Test
    void teacherInEvalModeKeepsItsBuffersToo() throws Exception {
        ClassifierConfig cfg = tiny(ClassifierConfig.distillation(), b -> {
            b.pretrained = backbone;
            b.epochs = 1;
            b.distill = DistillSpec.defaults().withWarmupEpochs(0).withTeacherMode("eval");
        });
        try (TrainingSession s = session("dist-eval", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, null, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            Map<String, Tensor> sd = t.distiller().teacher().stateDict();
            Map<String, float[]> before = snapshot(sd);
            t.train();
            assertFalse(t.distiller().teacher().isTraining());
            for (var e : before.entrySet()) assertArrayEquals(e.getValue(), sd.get(e.getKey()).toFloatArray(), e.getKey());
        }
    }

    @Test
    void distillResumeIsBitIdentical() throws Exception {
        ClassifierConfig cfg = tiny(ClassifierConfig.distillation(), b -> {
            b.pretrained = backbone;
            b.epochs = 2;
            b.distill = DistillSpec.defaults().withWarmupEpochs(1);
        });
        Map<String, float[]> expected;
        try (TrainingSession s = session("full", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, val, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            t.train();
            expected = snapshot(t.model().stateDict());
            expected.putAll(snapshot(prefixed("c.", t.distiller().connectors().stateDict())));
        }
        try (TrainingSession s = session("cut", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, val, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            t.stopAt(6); // inside epoch 2 (4 steps per epoch), after distillation switched on
            assertThrows(RunInterruptedException.class, t::train);
        }
        try (TrainingSession s = session("cut", dir.resolve("cut"), cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, val, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            t.train();
            Map<String, float[]> got = snapshot(t.model().stateDict());
            got.putAll(snapshot(prefixed("c.", t.distiller().connectors().stateDict())));
            assertEquals(expected.keySet(), got.keySet());
            for (String k : expected.keySet()) assertArrayEquals(expected.get(k), got.get(k), k);
        }
    }

    /**
     * A stop on the last step of an epoch still closes that epoch (its summary row, its validation,
     * its checkpoint), so a resumed run logs what an uninterrupted one logs and the next epoch's
     * means do not include the stopped epoch's steps.
     */
    @Test
    void stopOnTheLastStepOfAnEpochStillFinishesTheEpoch() throws Exception {
        ClassifierConfig cfg = tiny(ClassifierConfig.supervised(ShapesDataset.tinyModel(1)), b -> b.epochs = 2);
        try (TrainingSession s = session("whole", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, val, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            t.train();
        }
        try (TrainingSession s = session("split", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, val, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            assertEquals(4, t.stepsPerEpoch());
            t.stopAt(4); // the last step of epoch 1
            assertThrows(RunInterruptedException.class, t::train);
        }
        assertEquals(List.of(1.0), column(dir.resolve("split/metrics/val.csv"), "epoch"), "epoch 1 validated before stopping");
        try (TrainingSession s = session("split", dir.resolve("split"), cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, val, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            t.train();
        }
        for (String[] c : new String[][]{{"epoch", "epoch"}, {"epoch", "loss"}, {"val", "epoch"}, {"val", "val_top1"}})
            assertEquals(column(dir.resolve("whole/metrics/" + c[0] + ".csv"), c[1]), column(dir.resolve("split/metrics/" + c[0] + ".csv"), c[1]),
                    c[0] + ".csv " + c[1]);
    }

    /** BN's batch counter (kept on the host between state reads) continues from the checkpoint's value on resume. */
    @Test
    void resumeRestoresTheBatchNormCounters() throws Exception {
        ClassifierConfig cfg = tiny(ClassifierConfig.supervised(ShapesDataset.tinyModel(1)), b -> b.epochs = 2);
        try (TrainingSession s = session("count", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, null, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            t.stopAt(6);
            assertThrows(RunInterruptedException.class, t::train);
        }
        try (TrainingSession s = session("count", dir.resolve("count"), cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, null, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            t.train();
            for (String bn : new String[]{"bn1", "layer1.0.bn1", "layer4.0.bn2"})
                assertArrayEquals(new long[]{8}, t.model().tensor(bn + ".num_batches_tracked").toLongArray(), bn + ": 6 steps before the stop, 2 after");
        }
        try (Scope sc = Scope.open("export")) {
            var w = ModelExports.read(dir.resolve("count/export/model.safetensors"), Backends.cpu());
            assertArrayEquals(new long[]{8}, w.tensors().get("bn1.num_batches_tracked").toLongArray(), "the exported model too");
        }
    }

    private static Map<String, Tensor> prefixed(String p, Map<String, Tensor> m) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(p + k, v));
        return out;
    }

    @Test
    void nonFiniteLossStopsAtItsStepAndKeepsTheLastGoodCheckpoint() throws Exception {
        ClassifierConfig good = tiny(ClassifierConfig.supervised(ShapesDataset.tinyModel(1)), b -> { b.epochs = 1; b.logEvery = 1; });
        try (TrainingSession s = session("nan", null, good);
             ClassifierTrainer t = new ClassifierTrainer(good, train, null, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            t.train();
        }
        Path goodCkpt = dir.resolve("nan/checkpoints/last").toRealPath();
        // continue for a second epoch with an absurd learning rate: the loss overflows within a few steps
        ClassifierConfig wild = good.with(b -> {
            b.epochs = 2;
            b.optim = b.optim.withLr(1e12);
        });
        dvp.training.run.NonFiniteLossException e;
        try (TrainingSession s = session("nan", dir.resolve("nan"), wild);
             ClassifierTrainer t = new ClassifierTrainer(wild, train, null, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            e = assertThrows(dvp.training.run.NonFiniteLossException.class, t::train);
        }
        assertTrue(e.step() > 4 && e.step() <= 8, "a step of the second epoch: " + e.getMessage());
        assertTrue(e.getMessage().startsWith("loss is "), e.getMessage());
        assertEquals(goodCkpt, e.lastGoodCheckpoint().orElseThrow().toRealPath());
        assertEquals(goodCkpt, dir.resolve("nan/checkpoints/last").toRealPath(), "nothing written over the good checkpoint");
        List<Double> loss = column(dir.resolve("nan/metrics/train.csv"), "loss");
        assertTrue(loss.stream().allMatch(Double::isFinite), "rows up to the bad step are finite: " + loss);
    }

    @Test
    void resumeWithAnotherBatchSizeOrFromAnotherCommandIsBadInput() throws Exception {
        var norm = ShapesDataset.normalize(1);
        ClassifierConfig cfg = tiny(ClassifierConfig.finetune(), b -> {
            b.pretrained = backbone;
            b.epochs = 1;
        });
        try (TrainingSession s = session("base", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, train, null, norm, Backends.cpu(), s)) {
            t.train();
        }
        // 64 images in 4 steps of 16: with batches of 8 the checkpoint's step 4 would be the middle of the first epoch again
        ClassifierConfig b8 = cfg.with(b -> {
            b.batchSize = 8;
            b.epochs = 2;
        });
        BadInputException e = assertThrows(BadInputException.class, () -> {
            try (TrainingSession s = session("b8", dir.resolve("base"), b8);
                 ClassifierTrainer t = new ClassifierTrainer(b8, train, null, norm, Backends.cpu(), s)) {
                t.train();
            }
        });
        assertTrue(e.getMessage().contains("part 'loop' does not fit this run: the checkpoint was written with 4 steps per epoch, this run has 8 "
                + "(batch 8)"), e.getMessage());
        // linear-eval from a finetune checkpoint: the model fits, the optimizer's momentum buffers are another parameter set's
        ClassifierConfig lin = tiny(ClassifierConfig.linearEval(), b -> {
            b.pretrained = backbone;
            b.epochs = 2;
        });
        BadInputException l = assertThrows(BadInputException.class, () -> {
            try (TrainingSession s = session("lin-from-ft", dir.resolve("base"), lin);
                 ClassifierTrainer t = new ClassifierTrainer(lin, train, null, norm, Backends.cpu(), s)) {
                t.train();
            }
        });
        assertTrue(l.getMessage().contains("part 'optimizer' does not fit this run: optimizer state: the checkpoint holds"), l.getMessage());
        assertFalse(l.getMessage().contains("\n"), l.getMessage());
    }

    @Test
    void resnextStudentDistillsToo() throws Exception {
        ModelSpec rx = ModelSpec.of("resnext50_32x4d").withInChannels(1).withSmallStem(true).withWidth(0.25).withBlocks(1, 1, 1, 1);
        Path rxBackbone = dir.resolve("rx.safetensors");
        try (Scope s = Scope.open("rx")) {
            ModelExports.save(rxBackbone, rx.build(4, new Rng(1)), rx, ModelExports.Kind.BACKBONE, List.of(), null);
        }
        ClassifierConfig cfg = tiny(ClassifierConfig.distillation(), b -> {
            b.pretrained = rxBackbone;
            b.epochs = 1;
            b.distill = DistillSpec.defaults().withWarmupEpochs(0);
        });
        try (TrainingSession s = session("rx", null, cfg);
             ClassifierTrainer t = new ClassifierTrainer(cfg, new ShapesDataset(32, 16, 1, 3), null, ShapesDataset.normalize(1), Backends.cpu(), s)) {
            t.train();
            assertEquals(rx, t.spec());
        }
        assertTrue(column(dir.resolve("rx/metrics/epoch.csv"), "distill").getFirst() > 0);
    }

    @Test
    void badInputsAreOneLineErrors() throws Exception {
        var norm = ShapesDataset.normalize(1);
        List<BadInputException> errors = new java.util.ArrayList<>();
        errors.add(assertThrows(BadInputException.class, () -> tiny(ClassifierConfig.linearEval(), b -> {}).validate()));
        assertTrue(errors.getLast().getMessage().contains("--pretrained"), errors.getLast().getMessage());
        errors.add(assertThrows(BadInputException.class, () -> tiny(ClassifierConfig.finetune(), b -> b.pretrained = dir.resolve("nope.safetensors")).validate()));
        assertTrue(errors.getLast().getMessage().contains("nope.safetensors: no such file"), errors.getLast().getMessage());
        errors.add(assertThrows(BadInputException.class, () -> tiny(ClassifierConfig.finetune(), b -> {
            b.pretrained = backbone;
            b.autoAugment = "randaugment";
        }).validate()));
        assertTrue(errors.getLast().getMessage().contains("--auto-augment"), errors.getLast().getMessage());
        errors.add(assertThrows(BadInputException.class, () -> tiny(ClassifierConfig.finetune(), b -> {
            b.pretrained = backbone;
            b.labelSmoothing = 1.5;
        }).validate()));
        // a network description that contradicts the weights
        ClassifierConfig wrongArch = tiny(ClassifierConfig.finetune(), b -> {
            b.pretrained = backbone;
            b.model = ShapesDataset.tinyModel(1).withWidth(0.25);
        });
        errors.add(assertThrows(BadInputException.class, () -> new ClassifierTrainer(wrongArch, train, val, norm, Backends.cpu(), session("e1", null, wrongArch))));
        assertTrue(errors.getLast().getMessage().contains("holds resnet18"), errors.getLast().getMessage());
        // RGB normalisation for a grayscale network
        ClassifierConfig ok = tiny(ClassifierConfig.finetune(), b -> b.pretrained = backbone);
        errors.add(assertThrows(BadInputException.class, () -> new ClassifierTrainer(ok, train, val, ShapesDataset.normalize(3), Backends.cpu(), session("e2", null, ok))));
        assertTrue(errors.getLast().getMessage().contains("the images have 3 channels but the network, resnet18 (1-channel input"),
                errors.getLast().getMessage());
        // a file that is not safetensors
        Path junk = Files.writeString(dir.resolve("junk.safetensors"), "not a model");
        ClassifierConfig bad = tiny(ClassifierConfig.finetune(), b -> b.pretrained = junk);
        errors.add(assertThrows(BadInputException.class, () -> new ClassifierTrainer(bad, train, val, norm, Backends.cpu(), session("e3", null, bad))));
        assertTrue(errors.getLast().getMessage().contains("junk.safetensors"), errors.getLast().getMessage());
        // a teacher whose stem shrinks the image differently: its stage features cannot be compared with the student's
        Path bigStem = dir.resolve("big-stem.safetensors");
        try (Scope s = Scope.open("teacher")) {
            ModelSpec ts = ShapesDataset.tinyModel(1).withSmallStem(false);
            ModelExports.save(bigStem, ts.build(4, new Rng(3)), ts, ModelExports.Kind.BACKBONE, List.of(), null);
        }
        ClassifierConfig otherStem = tiny(ClassifierConfig.distillation(), b -> {
            b.pretrained = backbone;
            b.distill = DistillSpec.defaults().withTeacher(bigStem);
        });
        errors.add(assertThrows(BadInputException.class,
                () -> new ClassifierTrainer(otherStem, train, val, norm, Backends.cpu(), session("e4", null, otherStem))));
        assertTrue(errors.getLast().getMessage().contains("big-stem.safetensors is resnet18 (1-channel input, width 0.125, blocks [1, 1, 1, 1]) but the "
                + "student is resnet18 (1-channel input, small stem, width 0.125, blocks [1, 1, 1, 1]): with a small and a standard stem"), errors.getLast().getMessage());
        for (BadInputException e : errors) assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertNotNull(errors.getFirst());
    }
}
