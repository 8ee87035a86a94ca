package dvp.training.moco;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.nn.SplitBatchNorm2d;
import dvp.nn.optim.Sgd;
import dvp.training.loop.OptimSpec;
import dvp.training.testing.ShapesDataset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MoCo's state invariants on a tiny network with synthetic tensors (ALGORITHMS §2, §10.1–10.3). */
class MocoModelTest {
    private static final Backend CPU = Backends.cpu();
    private Scope scope;

    @BeforeEach
    void open() { scope = Scope.open("test"); }

    @AfterEach
    void close() { scope.close(); }

    private static MocoModel tiny(int queue, int splits, double margin) {
        return new MocoModel(ShapesDataset.tinyModel(1), 16, queue, splits, 0.999, margin, 0.2, new Rng(5));
    }

    private static Tensor batch(int n, long seed) { return Tensor.of(CPU, new Rng(seed).normal(n * 16 * 16, 0, 1), n, 1, 16, 16); }

    @Test
    void keyEncoderStartsAsACopyOfTheQueryEncoderAndIsFrozen() {
        MocoModel m = tiny(64, 1, 0.4);
        Map<String, Tensor> q = m.encoderQ().namedParameters(), k = m.encoderK().namedParameters();
        assertEquals(q.keySet(), k.keySet());
        for (String name : q.keySet()) {
            assertArrayEquals(q.get(name).toFloatArray(), k.get(name).toFloatArray(), name);
            assertFalse(k.get(name).requiresGrad(), name);
            assertTrue(q.get(name).requiresGrad(), name);
        }
        assertTrue(q.containsKey("fc.0.weight") && q.containsKey("fc.2.weight"), "MLP head: " + q.keySet());
        assertArrayEquals(new int[]{64, 64}, q.get("fc.0.weight").shape(), "hidden layer featureDim x featureDim");
        assertArrayEquals(new int[]{16, 64}, q.get("fc.2.weight").shape(), "projection to dim");
    }

    @Test
    void momentumUpdateIsExactlyTheEmaOfParametersOnly() {
        MocoModel m = tiny(64, 1, 0.4);
        // move f_q away from f_k (as an optimizer step would) and give f_k's BN buffers distinct values
        Rng r = new Rng(9);
        for (Tensor p : m.encoderQ().namedParameters().values()) p.copyFrom(Tensor.of(CPU, r.normal((int) p.numel(), 0, 1), p.shape()));
        Tensor rm = m.encoderK().tensor("bn1.running_mean");
        rm.copyFrom(Tensor.of(CPU, r.normal((int) rm.numel(), 0, 1), rm.shape()));
        float[] bufferBefore = rm.toFloatArray();
        Map<String, float[]> kBefore = new java.util.LinkedHashMap<>(), qNow = new java.util.LinkedHashMap<>();
        m.encoderK().namedParameters().forEach((n, t) -> kBefore.put(n, t.toFloatArray()));
        m.encoderQ().namedParameters().forEach((n, t) -> qNow.put(n, t.toFloatArray()));

        m.momentumUpdate();

        float eta = 0.999f, rest = (float) (1.0 - 0.999);
        m.encoderK().namedParameters().forEach((n, t) -> {
            float[] got = t.toFloatArray(), k0 = kBefore.get(n), q0 = qNow.get(n);
            for (int i = 0; i < got.length; i++) {
                float want = eta * k0[i] + rest * q0[i]; // PyTorch: param_k * m + param_q * (1. - m), in float32
                assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(got[i]), n + "[" + i + "]");
            }
        });
        assertArrayEquals(bufferBefore, rm.toFloatArray(), "BN buffers are not averaged");
    }

    @Test
    void stepEnqueuesTheNormalisedKeysAdvancesThePointerAndLeavesTheKeyEncoderWithoutGradients() {
        int b = 8, k = 32;
        MocoModel m = tiny(k, 1, 0.4);
        Sgd sgd = new OptimSpec(0.03, 0.9, 1e-4, false).build(m.encoderQ().namedParameters());
        Set<Tensor> optimized = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Sgd.Group g : sgd.groups()) optimized.addAll(g.params().values());
        for (Tensor p : m.encoderK().namedParameters().values()) assertFalse(optimized.contains(p), "key encoder parameter in the optimizer");

        float[] queueBefore = m.queue().toFloatArray();
        for (int step = 0; step < 6; step++) {
            long ptr = m.queuePtr().toLongArray()[0];
            assertEquals((long) step * b % k, ptr);
            try (Scope s = Scope.open("step")) {
                sgd.zeroGrad();
                MocoModel.Step r = m.step(batch(b, 2 * step), batch(b, 2 * step + 1), null);
                r.loss().backward();
                sgd.step();
                float[] keys = r.keys().toFloatArray(), queue = m.queue().toFloatArray();
                for (int i = 0; i < b; i++) {
                    double norm = 0;
                    for (int j = 0; j < 16; j++) {
                        float v = keys[i * 16 + j];
                        norm += v * v;
                        assertEquals(v, queue[(int) ((ptr + i) * 16 + j)], "queue row " + (ptr + i));
                    }
                    assertEquals(1.0, Math.sqrt(norm), 1e-5, "keys are L2-normalised");
                }
                if (step == 0)
                    for (int i = b * 16; i < queue.length; i++) assertEquals(queueBefore[i], queue[i], "rows outside [ptr, ptr+B) untouched");
            }
            for (Tensor p : m.encoderK().namedParameters().values()) assertNull(p.grad(), "key encoder got a gradient");
        }
        assertEquals(6L * b % k, m.queuePtr().toLongArray()[0], "pointer wraps modulo K");
        for (Tensor p : m.encoderQ().namedParameters().values()) assertTrue(p.grad() != null, "query encoder parameters get gradients");
        sgd.close();
    }

    @Test
    void initialQueueHoldsRandomUnitKeys() {
        MocoModel m = tiny(64, 1, 0.4);
        float[] q = m.queue().toFloatArray();
        double meanAbsDot = 0;
        for (int i = 0; i < 64; i++) {
            double n = 0;
            for (int j = 0; j < 16; j++) n += q[i * 16 + j] * q[i * 16 + j];
            assertEquals(1.0, n, 1e-5);
            if (i > 0) {
                double d = 0;
                for (int j = 0; j < 16; j++) d += q[i * 16 + j] * q[(i - 1) * 16 + j];
                meanAbsDot += Math.abs(d) / 63;
            }
        }
        assertTrue(meanAbsDot < 0.5, "random directions, not copies: " + meanAbsDot);
    }

    @Test
    void keyShuffleGathersAndScattersBackExactly() {
        Tensor x = batch(8, 3);
        int[] order = new Rng(1).permutation(8);
        Tensor g = MocoModel.gatherRows(x, order);
        float[] xs = x.toFloatArray(), gs = g.toFloatArray();
        int row = 16 * 16;
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < row; j++) assertEquals(xs[order[i] * row + j], gs[i * row + j]);
        assertArrayEquals(xs, MocoModel.scatterRows(g, order).toFloatArray());
        assertThrows(IllegalArgumentException.class, () -> MocoModel.gatherRows(x, new int[]{0, 0, 1, 2, 3, 4, 5, 6}));
    }

    @Test
    void splitBnEncodersWithShuffledKeys() {
        MocoModel m = tiny(32, 4, 0.4);
        assertInstanceOf(SplitBatchNorm2d.class, m.encoderQ().module("bn1"));
        assertInstanceOf(SplitBatchNorm2d.class, m.encoderK().module("layer4.0.bn2"));
        Tensor xq = batch(8, 1), xk = batch(8, 2);
        int[] order = new Rng(4).permutation(8);
        MocoModel.Step shuffled = m.step(xq, xk, order);
        MocoModel m2 = tiny(32, 4, 0.4);
        MocoModel.Step plain = m2.step(xq, xk, null);
        // with split BN the key of an image depends on which images share its BN group
        assertNotEquals(plain.loss().item(), shuffled.loss().item());
        assertThrows(IllegalArgumentException.class, () -> m.step(batch(6, 1), batch(6, 2), null), "batch not divisible by the splits");
    }

    @Test
    void marginRaisesTheLossOfTheSameBatch() {
        Tensor xq = batch(8, 1), xk = batch(8, 2);
        float withMargin = tiny(32, 1, 0.4).step(xq, xk, null).loss().item();
        float plain = tiny(32, 1, 0.0).step(xq, xk, null).loss().item();
        assertTrue(withMargin > plain, withMargin + " vs " + plain);
    }
}
