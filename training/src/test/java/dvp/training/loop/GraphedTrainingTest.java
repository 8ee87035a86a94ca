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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        return TrainingSession.open(name, SessionOptions.defaults().withRunDir(dir.resolve(name)).withProgress(ProgressMode.NONE), cfg, cuda);
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

    private record Run(Map<String, float[]> state, Map<String, Double> metrics, GraphedStep runner) {}

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
        CudaBackend cuda = CudaTesting.cuda();
        try (TrainingSession s = session(name, cfg, cuda);
             ClassifierTrainer t = new ClassifierTrainer(cfg, new ShapesDataset(images, 16, 1, 11), null, ShapesDataset.normalize(1), cuda, s)) {
            t.cudaGraph(graph);
            t.train();
            Map<String, Map<String, Tensor>> parts = new LinkedHashMap<>();
            parts.put("model", t.model().stateDict());
            parts.put("momentum", t.optimizer().momentumBuffers());
            if (t.distiller() != null) parts.put("connectors", t.distiller().connectors().stateDict());
            return new Run(state(parts), t.lastEpochMetrics(), t.graphedStep());
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
            return new Run(state(parts), p.lastEpochMetrics(), p.graphedStep());
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
