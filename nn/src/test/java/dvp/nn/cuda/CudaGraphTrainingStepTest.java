package dvp.nn.cuda;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.cuda.CudaGraph;
import dvp.engine.ops.Losses;
import dvp.engine.spi.Backends;
import dvp.engine.testing.CudaTesting;
import dvp.nn.models.ResNet;
import dvp.nn.optim.Sgd;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A whole training step (zero_grad, ResNet-18 forward, cross-entropy, backward, SGD with momentum and
 * weight decay) captured once as a CUDA graph ({@link CudaBackend#captureGraph}) and replayed: each
 * replay must give bit for bit what the same step run op by op gives (loss, every gradient, every
 * weight, the momentum buffers, the batch-norm running statistics), and two replays from the same
 * state with the same batch must give identical results. The models start equal and take one eager
 * warm-up step first (as PyTorch's graph recipe does), so the captured SGD update is a later step's
 * (momentum · buffer + gradient), not the first step's.
 *
 * <p>Not compared: {@code num_batches_tracked}. BatchNorm2d counts batches on the host, which a
 * replay cannot advance (the replayed graph's counter stays at its capture-time value); with a
 * fixed momentum, as here, the running statistics do not depend on it. The trainers' captured step
 * (dvp.training.loop.GraphedStep) advances the counter per replay; GraphedStepTest compares it too.
 */
class CudaGraphTrainingStepTest {
    private static final int B = 2, S = 32, CLASSES = 10;

    private record Net(ResNet model, Sgd sgd, Tensor x, Tensor y) {
        static Net build(CudaBackend cuda) {
            ResNet m = ResNet.builder(ResNet.Arch.RESNET18).numClasses(CLASSES).widthMultiplier(0.25).build(new Rng(11));
            m.train();
            Sgd sgd = Sgd.builder(0.1).momentum(0.9).weightDecay(1e-4).group(m.namedParameters()).build();
            return new Net(m, sgd, Tensor.empty(cuda, DType.F32, B, 3, S, S), Tensor.empty(cuda, DType.I64, B));
        }

        /** The step; the loss tensor it made. */
        Tensor step() {
            sgd.zeroGrad();
            Tensor loss = Losses.crossEntropy(model.forward(x), y, 0f);
            loss.backward();
            sgd.step();
            return loss;
        }

        void load(CudaBackend cuda, int batch) {
            Rng rng = new Rng(1000 + batch);
            try (Scope s = Scope.open("batch")) {
                cuda.copy(Tensor.of(cuda, rng.normal(B * 3 * S * S, 0, 1), B, 3, S, S), x);
                long[] l = new long[B];
                for (int i = 0; i < B; i++) l[i] = rng.nextInt(CLASSES);
                cuda.copy(Tensor.ofLongs(cuda, l, B), y);
            }
        }

        /** Host copies of everything the step changes (float values only; see the class comment). */
        Map<String, float[]> state(Tensor loss) {
            Map<String, float[]> m = new LinkedHashMap<>();
            m.put("loss", loss.toFloatArray());
            model.namedParameters().forEach((n, p) -> {
                m.put("weight " + n, p.toFloatArray());
                m.put("grad " + n, p.grad().toFloatArray());
            });
            sgd.momentumBuffers().forEach((n, b) -> m.put("momentum " + n, b.toFloatArray()));
            model.namedBuffers().forEach((n, b) -> { if (b.dtype() == DType.F32) m.put("buffer " + n, b.toFloatArray()); });
            return m;
        }
    }

    private static void assertBitIdentical(Map<String, float[]> want, Map<String, float[]> got, String what) {
        assertEquals(want.keySet(), got.keySet(), what);
        for (String k : want.keySet()) assertArrayEquals(want.get(k), got.get(k), what + ": " + k);
    }

    @Test
    void aCapturedTrainingStepReplaysBitIdenticallyToTheEagerStep() {
        CudaBackend cuda = CudaTesting.cuda();
        // bit-for-bit comparisons need deterministic algorithms: by default autotuning may pick cuDNN's
        // atomics-based convolutions, which vary from call to call (as on a GPU; PyTorch's graph tests
        // set torch.use_deterministic_algorithms for the same reason)
        boolean det = cuda.deterministic();
        cuda.setDeterministic(true);
        try (Scope s = Scope.open("graph step"); var use = Backends.use(cuda)) {
            Net eager = Net.build(cuda), graphed = Net.build(cuda);
            // warm-up, eagerly: gradients and momentum buffers exist from here on
            eager.load(cuda, 0);
            Tensor le = eager.step();
            graphed.load(cuda, 0);
            Tensor lg = graphed.step();
            assertBitIdentical(eager.state(le), graphed.state(lg), "sanity: the same eager step of two equal models");

            Tensor[] loss = new Tensor[1];
            try (Scope captured = Scope.open("captured step"); CudaGraph g = cuda.captureGraph(() -> loss[0] = graphed.step())) {
                for (int batch = 1; batch <= 2; batch++) {
                    graphed.load(cuda, batch);
                    g.replay();
                    eager.load(cuda, batch);
                    Tensor l = eager.step();
                    assertBitIdentical(eager.state(l), graphed.state(loss[0]), "replay " + batch + " vs the eager step");
                }
                // two replays from the same state with the same batch
                Map<String, Tensor> saved = snapshot(cuda, graphed);
                graphed.load(cuda, 3);
                g.replay();
                Map<String, float[]> first = graphed.state(loss[0]);
                restore(cuda, graphed, saved);
                g.replay();
                assertBitIdentical(first, graphed.state(loss[0]), "two replays from the same state");
                assertTrue(Float.isFinite(first.get("loss")[0]) && first.get("loss")[0] > 0, "a real loss: " + first.get("loss")[0]);
            }
        } finally {
            cuda.setDeterministic(det);
        }
    }

    /** Device copies of the weights, momentum buffers and float buffers (what a replay overwrites). */
    private static Map<String, Tensor> snapshot(CudaBackend cuda, Net n) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        n.model().namedParameters().forEach((k, t) -> m.put("p " + k, copy(cuda, t)));
        n.sgd().momentumBuffers().forEach((k, t) -> m.put("m " + k, copy(cuda, t)));
        n.model().namedBuffers().forEach((k, t) -> { if (t.dtype() == DType.F32) m.put("b " + k, copy(cuda, t)); });
        return m;
    }

    private static void restore(CudaBackend cuda, Net n, Map<String, Tensor> saved) {
        n.model().namedParameters().forEach((k, t) -> cuda.copy(saved.get("p " + k), t));
        n.sgd().momentumBuffers().forEach((k, t) -> cuda.copy(saved.get("m " + k), t));
        n.model().namedBuffers().forEach((k, t) -> { if (t.dtype() == DType.F32) cuda.copy(saved.get("b " + k), t); });
    }

    private static Tensor copy(CudaBackend cuda, Tensor t) {
        Tensor c = Tensor.empty(cuda, t.dtype(), t.shape());
        cuda.copy(t, c);
        return c;
    }
}
