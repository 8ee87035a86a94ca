package dvp.training.loop;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.ops.Losses;
import dvp.engine.spi.Backends;
import dvp.engine.testing.CudaTesting;
import dvp.nn.AdaptiveAvgPool2d;
import dvp.nn.BatchNorm2d;
import dvp.nn.Conv2d;
import dvp.nn.Flatten;
import dvp.nn.Linear;
import dvp.nn.Module;
import dvp.nn.ReLU;
import dvp.nn.Sequential;
import dvp.nn.models.ResNet;
import dvp.nn.optim.Sgd;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link GraphedStep} on the simulated CUDA device against the same step run op by op: a ResNet-18
 * (width 0.25, 16 px) supervised step with SGD (momentum, Nesterov, weight decay), a learning rate
 * that changes every step (linear warm-up, then cosine), and batch sizes 3 and 2 interleaved, so
 * each shape warms up, is captured, replays, and the graphs of both shapes are replayed after the
 * other was captured. After every step the two models must agree bit for bit in everything the
 * step touches: the loss, every weight and gradient, the momentum buffers, the BN running
 * statistics and {@code num_batches_tracked}. The same holds with more shapes than graphs kept,
 * where graphs are closed (least recently used first) and their shapes captured again.
 */
class GraphedStepTest {
    private static final int S = 16, CLASSES = 10;
    /** Batch size per step: key 3 warms up (1, 2), is captured (3) and replays (4, 8); key 2 warms up (5, 6), is captured (7), replays (9). */
    private static final int[] BATCHES = {3, 3, 3, 3, 2, 2, 2, 3, 2};

    private record Net(Module model, Sgd sgd, GraphedStep runner) {
        static Net build(CudaBackend cuda, boolean graph) {
            return of(ResNet.builder(ResNet.Arch.RESNET18).numClasses(CLASSES).widthMultiplier(0.25).build(new Rng(11)), cuda, graph);
        }

        static Net of(Module m, CudaBackend cuda, boolean graph) {
            m.train();
            Sgd sgd = Sgd.builder(0.1).momentum(0.9).weightDecay(1e-4).nesterov(true).group(m.namedParameters()).build();
            return new Net(m, sgd, new GraphedStep(cuda, graph, sgd, Map.of("model", m)));
        }

        Tensor[] step(Tensor x, Tensor y) {
            return runner.run("ce", new Tensor[]{x, y}, in -> {
                sgd.zeroGrad();
                Tensor loss = Losses.crossEntropy(model.forward(in[0]), in[1], 0.1f);
                loss.backward();
                sgd.step();
                return new Tensor[]{loss};
            });
        }

        /** Host copies of everything the step changes; num_batches_tracked as floats (exact below 2^24). */
        Map<String, float[]> state(Tensor loss) {
            Map<String, float[]> m = new LinkedHashMap<>();
            m.put("loss", loss.toFloatArray());
            model.namedParameters().forEach((n, p) -> {
                m.put("weight " + n, p.toFloatArray());
                m.put("grad " + n, p.grad().toFloatArray());
            });
            sgd.momentumBuffers().forEach((n, b) -> m.put("momentum " + n, b.toFloatArray()));
            model.namedBuffers().forEach((n, b) -> m.put("buffer " + n, b.dtype() == DType.F32 ? b.toFloatArray() : longsAsFloats(b.toLongArray())));
            return m;
        }
    }

    private static float[] longsAsFloats(long[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = v[i];
        return f;
    }

    /** Linear warm-up over 2 steps, then cosine to 0 at step 10: a different lr at every step. */
    private static double lrFactor(int step) {
        return step < 2 ? (step + 1) / 3.0 : 0.5 * (1 + Math.cos(Math.PI * (step - 2) / 8.0));
    }

    /**
     * One step of both nets on the same random batch of b images of s × s pixels at lr factor
     * {@link #lrFactor}(step); then everything the step changed must agree bit for bit.
     */
    private static void stepBoth(CudaBackend cuda, Net eager, Net graphed, int step, int b, int s) {
        eager.sgd().setLrFactor(lrFactor(step));
        graphed.sgd().setLrFactor(lrFactor(step));
        try (Scope batch = Scope.open("batch " + step)) {
            Rng rng = new Rng(1000 + step);
            Tensor x = Tensor.of(cuda, rng.normal(b * 3 * s * s, 0, 1), b, 3, s, s);
            long[] labels = new long[b];
            for (int i = 0; i < b; i++) labels[i] = rng.nextInt(CLASSES);
            Tensor y = Tensor.ofLongs(cuda, labels, b);
            Map<String, float[]> want = eager.state(eager.step(x, y)[0]);
            Map<String, float[]> got = graphed.state(graphed.step(x, y)[0]);
            assertEquals(want.keySet(), got.keySet());
            for (String k : want.keySet()) assertArrayEquals(want.get(k), got.get(k), "step " + step + " (batch " + b + "): " + k);
            assertTrue(Float.isFinite(got.get("loss")[0]) && got.get("loss")[0] > 0, "a real loss: " + got.get("loss")[0]);
        }
    }

    @Test
    void replaysAreBitIdenticalToTheEagerStepAcrossLrChangesAndShapes() {
        CudaBackend cuda = CudaTesting.cuda();
        try (Scope s = Scope.open("graphed step"); var use = Backends.use(cuda)) {
            Net eager = Net.build(cuda, false), graphed = Net.build(cuda, true);
            assertFalse(eager.runner().isGraphed());
            assertTrue(graphed.runner().isGraphed());
            try {
                for (int step = 0; step < BATCHES.length; step++) stepBoth(cuda, eager, graphed, step, BATCHES[step], S);
                // the graph path was taken: one capture per shape, and the replays the schedule above implies
                assertEquals(2, graphed.runner().captures());
                assertEquals(5, graphed.runner().replays());
                BatchNorm2d bn1 = (BatchNorm2d) graphed.model().module("bn1");
                assertEquals(BATCHES.length, bn1.numBatchesTracked(), "every replayed step counted once");
            } finally {
                graphed.runner().close();
                eager.sgd().close();
                graphed.sgd().close();
            }
        }
    }

    /** conv 3x3 → BN → ReLU → conv 3x3 stride 2 → BN → ReLU → average pool → linear: a step of few launches. */
    private static Module smallNet() {
        Rng rng = new Rng(11);
        return new Sequential(new Conv2d(3, 8, 3, 1, 1, rng), new BatchNorm2d(8), new ReLU(), new Conv2d(8, 8, 3, 2, 1, rng),
                new BatchNorm2d(8), new ReLU(), new AdaptiveAvgPool2d(), new Flatten(), new Linear(8, CLASSES, rng));
    }

    /**
     * More shapes than graphs kept: batch sizes 2..6 in turn, 7 rounds, on {@link #smallNet} at 8 px
     * (the graph bookkeeping does not depend on the model; a small one keeps the 70 simulated steps
     * short). Rounds 1 and 2 warm every size up; round 3 captures 2, 3, 4, 5 and, for 6, first
     * closes the least recently used graph (size 2's), which forgets its warm-up.
     * From then on one size at a time warms up again and is re-captured, closing the graph used
     * longest ago: round 6 re-captures 2 (closing 3's), round 7 replays the re-captured 2. Every step
     * must equal the eager twin's bit for bit, and no more than {@value GraphedStep#MAX_GRAPHS}
     * graphs may be held after any step.
     */
    @Test
    void beyondFourShapesTheOldestGraphIsClosedAndRecapturedAndEveryStepStaysBitIdentical() {
        int size = 8, rounds = 7;
        int[] sizes = {2, 3, 4, 5, 6};
        CudaBackend cuda = CudaTesting.cuda();
        try (Scope s = Scope.open("graph eviction"); var use = Backends.use(cuda)) {
            Net eager = Net.of(smallNet(), cuda, false), graphed = Net.of(smallNet(), cuda, true);
            try {
                int step = 0, most = 0;
                for (int r = 0; r < rounds; r++) {
                    for (int b : sizes) {
                        stepBoth(cuda, eager, graphed, step++, b, size);
                        most = Math.max(most, graphed.runner().liveGraphs());
                        assertTrue(graphed.runner().liveGraphs() <= GraphedStep.MAX_GRAPHS, "step " + step + ": "
                                + graphed.runner().liveGraphs() + " graphs held");
                    }
                }
                assertEquals(GraphedStep.MAX_GRAPHS, most, "the limit was reached");
                // captures: 5 in round 3, size 2 again in round 6; replays (a capture's own included):
                // 5 in round 3, then 4 in each of rounds 4-7 (one size is warming up in each)
                assertEquals(6, graphed.runner().captures(), "size 2 re-captured after its graph was closed");
                assertEquals(5 + 4 * 4, graphed.runner().replays());
                assertEquals(GraphedStep.MAX_GRAPHS, graphed.runner().liveGraphs());
            } finally {
                graphed.runner().close();
                eager.sgd().close();
                graphed.sgd().close();
            }
        }
    }

    @Test
    void aCumulativeAverageBatchNormIsRefusedByName() {
        CudaBackend cuda = CudaTesting.cuda();
        try (Scope s = Scope.open("cumulative bn"); var use = Backends.use(cuda)) {
            BatchNorm2d bn = new BatchNorm2d(3, 1e-5f, null, true, true);
            bn.train();
            Sgd sgd = Sgd.builder(0.1).group(bn.namedParameters()).build();
            try (GraphedStep g = new GraphedStep(cuda, true, sgd, Map.of("stem", bn))) {
                Tensor x = Tensor.of(cuda, new Rng(3).normal(2 * 3 * 4 * 4, 0, 1), 2, 3, 4, 4);
                GraphedStep.Body body = in -> {
                    sgd.zeroGrad();
                    Tensor loss = dvp.engine.ops.Reductions.sum(bn.forward(in[0]));
                    loss.backward();
                    sgd.step();
                    return new Tensor[]{loss};
                };
                for (int i = 0; i < GraphedStep.WARMUP_STEPS; i++) g.run("sum", new Tensor[]{x}, body);
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> g.run("sum", new Tensor[]{x}, body));
                assertTrue(e.getMessage().contains("'stem'") && e.getMessage().contains("momentum None") && e.getMessage().contains("--no-cuda-graph"),
                        e.getMessage());
                assertEquals(0, g.captures());
            } finally {
                sgd.close();
            }
        }
    }
}
