package dvp.training.loop;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.spi.ComputeSettings;
import dvp.engine.spi.Precision;
import dvp.engine.testing.CudaTesting;
import dvp.nn.models.ResNet;
import dvp.training.distill.DistillSpec;
import dvp.training.model.ModelExports;
import dvp.training.moco.PretrainConfig;
import dvp.training.moco.Pretrainer;
import dvp.training.observe.ProgressMode;
import dvp.training.run.RunInterruptedException;
import dvp.training.session.SessionOptions;
import dvp.training.session.TrainingSession;
import dvp.training.supervised.ClassifierConfig;
import dvp.training.supervised.ClassifierTrainer;
import dvp.training.testing.ShapesDataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tiny training runs on the simulated CUDA device with the step captured as a CUDA graph and op by
 * op: the runs must end in bit-identical state (every tensor a checkpoint holds: weights, BN
 * statistics and counters, momentum buffers, MoCo's queue and pointer) and log identical epoch
 * means. Each run changes the lr every epoch (cosine), so a replay that kept its capture-time lr
 * would differ.
 * <ul>
 *   <li>supervised: 20 images in batches of 8, 8, 4, so the last batch of each epoch is another
 *       shape (captured in the third epoch);</li>
 *   <li>MoCo: a new key-shuffle permutation every step, the queue's enqueue and the key encoder's EMA
 *       in the graph;</li>
 *   <li>distillation: one CE-only epoch, then distillation, which are captured as two graphs.</li>
 * </ul>
 */
class GraphedTrainingTest {
    @TempDir
    Path dir;

    private TrainingSession session(String name, Object cfg, CudaBackend cuda) throws Exception {
        return session(name, null, cfg, cuda);
    }

    /** A session in dir/name, continuing the checkpoint found under {@code resume} when that is not null (--resume). */
    private TrainingSession session(String name, Path resume, Object cfg, CudaBackend cuda) throws Exception {
        return TrainingSession.open(name, SessionOptions.defaults().withRunDir(dir.resolve(name)).withResume(resume)
                .withProgress(ProgressMode.NONE), cfg, cuda);
    }

    /** Every tensor of the state dicts and optimizer, by name, as host floats (I64 counters converted exactly). */
    private static Map<String, float[]> state(Map<String, Map<String, Tensor>> parts) {
        Map<String, float[]> m = new LinkedHashMap<>();
        parts.forEach((part, tensors) -> tensors.forEach((k, t) -> {
            if (t.dtype() == DType.F32) {
                m.put(part + "." + k, t.toFloatArray());
            } else {
                long[] l = t.toLongArray();
                float[] f = new float[l.length];
                for (int i = 0; i < l.length; i++) f[i] = l[i];
                m.put(part + "." + k, f);
            }
        }));
        return m;
    }

    private static void assertSameRun(Map<String, float[]> off, Map<String, float[]> on, Map<String, Double> offMetrics, Map<String, Double> onMetrics) {
        assertEquals(off.keySet(), on.keySet());
        for (String k : off.keySet()) assertArrayEquals(off.get(k), on.get(k), k);
        assertEquals(offMetrics, onMetrics, "epoch means");
    }

    private record Run(Map<String, float[]> state, Map<String, Double> metrics, GraphedStep runner, boolean channelsLast) {}

    private static ClassifierConfig tiny(ClassifierConfig base, java.util.function.Consumer<ClassifierConfig.Builder> more) {
        return base.with(b -> {
            b.imageSize = 16;
            b.evalResize = 16;
            b.batchSize = 8;
            b.dropLast = false;
            b.workers = 2;
            b.logEvery = 2;
            b.schedule = new ScheduleSpec("cosine", null, 0.1);
            b.seed = 5;
        }).with(more);
    }

    private Run classifier(String name, ClassifierConfig cfg, int images, boolean graph) throws Exception {
        return classifier(name, null, cfg, images, graph, t -> {});
    }

    /** A run in dir/name (continuing the checkpoint under {@code resume} when not null); {@code setup} runs before training. */
    private Run classifier(String name, Path resume, ClassifierConfig cfg, int images, boolean graph, Consumer<ClassifierTrainer> setup) throws Exception {
        CudaBackend cuda = CudaTesting.cuda();
        try (TrainingSession s = session(name, resume, cfg, cuda);
             ClassifierTrainer t = new ClassifierTrainer(cfg, new ShapesDataset(images, 16, 1, 11), null, ShapesDataset.normalize(1), cuda, s)) {
            t.cudaGraph(graph);
            setup.accept(t);
            t.train();
            Map<String, Map<String, Tensor>> parts = new LinkedHashMap<>();
            parts.put("model", t.model().stateDict());
            parts.put("momentum", t.optimizer().momentumBuffers());
            if (t.distiller() != null) parts.put("connectors", t.distiller().connectors().stateDict());
            return new Run(state(parts), t.lastEpochMetrics(), t.graphedStep(), t.model().channelsLast());
        }
    }

    /** A run in dir/name stopped as Ctrl-C stops it once {@code steps} steps are done (its checkpoint written); its step runner. */
    private GraphedStep interrupted(String name, ClassifierConfig cfg, int images, boolean graph, long steps) throws Exception {
        CudaBackend cuda = CudaTesting.cuda();
        try (TrainingSession s = session(name, cfg, cuda);
             ClassifierTrainer t = new ClassifierTrainer(cfg, new ShapesDataset(images, 16, 1, 11), null, ShapesDataset.normalize(1), cuda, s)) {
            t.cudaGraph(graph);
            t.stopAt(steps);
            RunInterruptedException e = assertThrows(RunInterruptedException.class, t::train);
            assertEquals(steps, e.step(), "stopped after " + steps + " steps");
            assertTrue(java.nio.file.Files.exists(e.checkpoint()), "checkpoint written: " + e.checkpoint());
            return t.graphedStep();
        }
    }

    @Test
    void supervisedRunWithTheGraphEqualsTheOpByOpRun() throws Exception {
        ClassifierConfig cfg = tiny(ClassifierConfig.supervised(ShapesDataset.tinyModel(1)), b -> b.epochs = 3);
        Run off = classifier("off", cfg, 20, false), on = classifier("on", cfg, 20, true);
        assertFalse(off.runner().isGraphed());
        assertTrue(on.runner().isGraphed());
        // batch 8: steps 1, 2 eager, captured at step 4, replayed at 5, 7, 8; batch 4: eager in epochs 1, 2, captured in epoch 3
        assertEquals(2, on.runner().captures());
        assertEquals(5, on.runner().replays());
        assertSameRun(off.state(), on.state(), off.metrics(), on.metrics());
        assertEquals(9f, on.state().get("model.bn1.num_batches_tracked")[0], "every step counted, replayed or not");
    }

    /**
     * {@code --precision bf16}: the whole run under autocast (the casts and the bf16 convolutions are
     * captured like any other launch); captured and op by op end bit-identical, and the run is not the
     * fp32 one.
     */
    /**
     * {@code --resume} with the graph on is exact, as EpochLoop promises for any resume and
     * GraphedStep for either mode: the graph replays the eager step bit for bit and reads and writes
     * the model's and optimizer's own tensors, so the checkpoint holds the same state in either
     * mode, and a resumed process starts its graphs afresh (warm-up, capture) from that state. Four
     * epochs of 8, 8, 4 images; the cut is after step 4 (inside epoch 2), which in a graph run is the
     * batch-8 graph's capture; the rest (8 steps) captures batch 8 at step 8 and batch 4 at step 12.
     * Both a graph checkpoint and an op-by-op checkpoint (the switch may change on --resume),
     * resumed with the graph on, must end bit-identical to the uninterrupted graph run (itself equal
     * to the op-by-op run, see above).
     */
    @Test
    void resumingWithTheGraphOnIsExactFromAGraphCheckpointAndFromAnOpByOpCheckpoint() throws Exception {
        ClassifierConfig cfg = tiny(ClassifierConfig.supervised(ShapesDataset.tinyModel(1)), b -> b.epochs = 4);
        Run whole = classifier("whole", cfg, 20, true);
        assertEquals(2, whole.runner().captures());
        for (boolean graphBefore : new boolean[]{true, false}) {
            String name = graphBefore ? "cut-graph" : "cut-op-by-op";
            GraphedStep before = interrupted(name, cfg, 20, graphBefore, 4);
            assertEquals(graphBefore, before.isGraphed());
            assertEquals(graphBefore ? 1 : 0, before.captures(), name + ": steps 1, 2 (batch 8) and 3 (batch 4) eager, step 4 captured");
            Run resumed = classifier(name, dir.resolve(name), cfg, 20, true, t -> {});
            assertTrue(resumed.runner().isGraphed());
            assertEquals(2, resumed.runner().captures(), name + ": the resumed process warms up and captures anew");
            assertEquals(4, resumed.runner().replays(), name + ": batch 8 at steps 8, 10, 11; batch 4 at step 12");
            assertSameRun(whole.state(), resumed.state(), whole.metrics(), resumed.metrics());
            assertEquals(12f, resumed.state().get("model.bn1.num_batches_tracked")[0], name + ": every step counted once");
        }
    }

    /**
     * {@code --channels-last} with the graph (the default CUDA mode): the NHWC step captured and
     * replayed equals the same NHWC run op by op, bit for bit (ChannelsLastTrainingTest compares
     * the layouts, within a tolerance; here only the graph differs, so nothing may). Two epochs of 8,
     * 8, 4: batch 8 warms up at steps 1, 2, is captured at step 4 and replayed at step 5.
     */
    @Test
    void aChannelsLastRunWithTheGraphEqualsTheChannelsLastRunOpByOp() throws Exception {
        ClassifierConfig cfg = tiny(ClassifierConfig.supervised(ShapesDataset.tinyModel(1)), b -> b.epochs = 2);
        Run off = classifier("cl-off", null, cfg, 20, false, t -> t.channelsLast(true));
        Run on = classifier("cl-on", null, cfg, 20, true, t -> t.channelsLast(true));
        assertTrue(off.channelsLast() && on.channelsLast(), "both runs channels-last");
        assertFalse(off.runner().isGraphed());
        assertEquals(1, on.runner().captures());
        assertEquals(2, on.runner().replays());
        assertSameRun(off.state(), on.state(), off.metrics(), on.metrics());
    }

    @Test
    void aBf16RunWithTheGraphEqualsTheOpByOpRunAndDiffersFromFp32() throws Exception {
        CudaBackend cuda = CudaTesting.cuda();
        ComputeSettings before = cuda.computeSettings(); // this JVM's CUDA context: put it back for later tests
        ClassifierConfig cfg = tiny(ClassifierConfig.supervised(ShapesDataset.tinyModel(1)), b -> b.epochs = 2);
        Run fp32 = classifier("fp32", cfg, 20, false);
        try {
            cuda.configure(new ComputeSettings(Precision.BF16, before.deterministic()));
            Run off = classifier("bf16-off", cfg, 20, false), on = classifier("bf16-on", cfg, 20, true);
            assertTrue(on.runner().isGraphed() && on.runner().replays() > 0, "replayed");
            assertSameRun(off.state(), on.state(), off.metrics(), on.metrics());
            assertFalse(java.util.Arrays.equals(fp32.state().get("model.conv1.weight"), off.state().get("model.conv1.weight")),
                    "bf16 autocast changed the run");
        } finally {
            cuda.configure(before);
        }
    }

    @Test
    void distillationRunWithTheGraphEqualsTheOpByOpRun() throws Exception {
        Path backbone = dir.resolve("backbone.safetensors");
        try (Scope s = Scope.open("backbone")) {
            ResNet net = ShapesDataset.tinyModel(1).build(16, new Rng(77));
            ModelExports.save(backbone, net, ShapesDataset.tinyModel(1), ModelExports.Kind.BACKBONE, List.of(), null);
        }
        ClassifierConfig cfg = tiny(ClassifierConfig.distillation(), b -> {
            b.pretrained = backbone;
            b.epochs = 3;
            b.distill = DistillSpec.defaults().withWarmupEpochs(1);
        });
        Run off = classifier("distill-off", cfg, 24, false), on = classifier("distill-on", cfg, 24, true);
        // CE-only epoch: eager, eager, captured; distillation: eager, eager, captured, then 3 replays
        assertEquals(2, on.runner().captures());
        assertEquals(5, on.runner().replays());
        assertSameRun(off.state(), on.state(), off.metrics(), on.metrics());
        assertTrue(on.metrics().get("distill") > 0, "the last epoch distilled: " + on.metrics());
    }

    private Run pretrain(String name, boolean graph) throws Exception {
        CudaBackend cuda = CudaTesting.cuda();
        PretrainConfig cfg = PretrainConfig.defaults().with(b -> {
            b.model = ShapesDataset.tinyModel(1);
            b.imageSize = 16;
            b.epochs = 2;
            b.batchSize = 8;
            b.queueSize = 32;
            b.dim = 16;
            b.bnSplits = 2;
            b.workers = 2;
            b.logEvery = 2;
            b.seed = 3;
        });
        try (TrainingSession s = session(name, cfg, cuda);
             Pretrainer p = new Pretrainer(cfg, new ShapesDataset(24, 16, 1, 1), ShapesDataset.normalize(1), cuda, s)) {
            p.cudaGraph(graph);
            p.train();
            Map<String, Map<String, Tensor>> parts = new LinkedHashMap<>();
            parts.put("encoder_q", p.model().encoderQ().stateDict());
            parts.put("encoder_k", p.model().encoderK().stateDict());
            parts.put("queue", Map.of("keys", p.model().queue(), "ptr", p.model().queuePtr()));
            parts.put("momentum", p.optimizer().momentumBuffers());
            return new Run(state(parts), p.lastEpochMetrics(), p.graphedStep(), false);
        }
    }

    @Test
    void mocoRunWithTheGraphEqualsTheOpByOpRun() throws Exception {
        Run off = pretrain("moco-off", false), on = pretrain("moco-on", true);
        // 3 steps per epoch: eager, eager, captured, then 3 replays, each with its own key permutation
        assertEquals(1, on.runner().captures());
        assertEquals(4, on.runner().replays());
        assertSameRun(off.state(), on.state(), off.metrics(), on.metrics());
        assertEquals(6f * 8 % 32, on.state().get("queue.ptr")[0], "six enqueues of 8 keys into a queue of 32");
    }
}
