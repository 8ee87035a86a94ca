package dvp.training.moco;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.engine.testing.CudaTesting;
import dvp.nn.optim.Sgd;
import dvp.nn.parity.StepParity;
import dvp.training.model.ModelSpec;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One MoCo v2 iteration with DVP's margin ({@link MocoModel#step}) on CUDA against the CPU, with the
 * tolerances calibrated by the CPU's own sensitivity ({@link StepParity}): the momentum update of
 * f_k, both encoders with split batch norm and the key shuffle, the margin-InfoNCE kernels (loss,
 * accuracy, the gradient into f_q), the device-side enqueue and its pointer, then SGD on f_q.
 * And the device error word: a queue pointer that does not fit is reported at the next
 * synchronisation, nothing is written, and the backend works on.
 */
class CudaMocoStepTest {
    private static final int B = 4, C = 3, H = 16, DIM = 16, K = 40, START = 24;
    private static final int[] KEY_ORDER = {2, 0, 3, 1};
    private static final ModelSpec SPEC = ModelSpec.of("resnet18").withSmallStem(true).withWidth(0.125).withBlocks(1, 1, 1, 1);

    private static MocoModel model(Backend be) {
        MocoModel m = new MocoModel(SPEC, DIM, K, 2, 0.999, 0.4, 0.2, new Rng(5));
        m.encoderQ().train();
        m.encoderK().train();
        // f_q as a few SGD steps would have left it: different from f_k, so the momentum update shows
        Rng r = new Rng(6);
        try (var g = GradMode.noGrad(); Scope s = Scope.open("offset")) {
            for (Tensor p : m.encoderQ().namedParameters().values()) {
                Tensor delta = Tensor.of(be, r.normal((int) p.numel(), 0, 0.01), p.shape());
                be.axpby(1f, p, 1f, delta, p);
            }
        }
        be.fill(m.queuePtr(), START);
        return m;
    }

    /** The whole iteration on {@code be}; the input is x_q then x_k, [B,3,16,16] each. */
    static StepParity.Snapshot step(Backend be, float[] input) {
        StepParity.Snapshot snap = new StepParity.Snapshot();
        try (Scope s = Scope.open("moco step"); var use = Backends.use(be)) {
            MocoModel m = model(be);
            Sgd sgd = Sgd.builder(0.03).momentum(0.9).weightDecay(1e-4).group(m.encoderQ().namedParameters()).build();
            try {
                int n = B * C * H * H;
                Tensor xq = Tensor.of(be, Arrays.copyOfRange(input, 0, n), B, C, H, H);
                Tensor xk = Tensor.of(be, Arrays.copyOfRange(input, n, 2 * n), B, C, H, H);
                sgd.zeroGrad();
                MocoModel.Step r = m.step(xq, xk, KEY_ORDER);
                r.loss().backward();
                snap.put("loss", "margin-InfoNCE", r.loss());
                snap.put("loss", "accuracy", r.accuracy());
                snap.putGrads("gradients f_q", m.encoderQ().namedParameters());
                sgd.step();
                snap.putAll("f_q after SGD", m.encoderQ().namedParameters());
                snap.putAll("f_k after momentum update", m.encoderK().namedParameters());
                snap.putAll("BN buffers f_q", m.encoderQ().namedBuffers());
                snap.putAll("BN buffers f_k", m.encoderK().namedBuffers());
                snap.put("queue", "keys", r.keys());
                snap.put("queue", "queue", m.queue());
                snap.put("queue", "queue_ptr", m.queuePtr());
            } finally {
                sgd.close();
            }
        }
        return snap;
    }

    @Test
    void mocoStepOnCudaMatchesTheCpu() {
        CudaBackend cuda = CudaTesting.cuda();
        float[] input = new Rng(77).normal(2 * B * C * H * H, 0, 1);
        StepParity.Report r = StepParity.compare(Backends.cpu(), cuda, input, CudaMocoStepTest::step, 77);
        assertTrue(r.pass(), "failures:\n" + r.failures().stream().map(StepParity.Row::line).collect(Collectors.joining("\n"))
                + "\nall:\n" + r.rows().stream().map(StepParity.Row::line).collect(Collectors.joining("\n")));
        assertEquals(List.of("loss", "gradients f_q", "f_q after SGD", "f_k after momentum update", "BN buffers f_q", "BN buffers f_k", "queue"),
                r.groups());
        StepParity.Row ptr = r.rows().stream().filter(x -> x.name().equals("queue_ptr")).findFirst().orElseThrow();
        assertTrue(ptr.pass() && ptr.error() == 0, "the pointer advanced on the device exactly as on the CPU");
        // the enqueue wrote the batch's keys at rows [START, START + B) on both backends
        StepParity.Snapshot dev = step(cuda, input);
        float[] queue = dev.values("queue").get("queue"), keys = dev.values("queue").get("keys");
        assertArrayEquals(keys, Arrays.copyOfRange(queue, START * DIM, (START + B) * DIM), "keys enqueued at the pointer");
    }

    @Test
    void aQueuePointerThatDoesNotFitIsReportedAtTheNextSyncAndNothingIsWritten() {
        CudaBackend cuda = CudaTesting.cuda();
        float[] input = new Rng(78).normal(2 * B * C * H * H, 0, 1);
        int n = B * C * H * H;
        try (Scope s = Scope.open("bad pointer"); var use = Backends.use(cuda)) {
            MocoModel m = model(cuda);
            cuda.fill(m.queuePtr(), K - 2); // K - 2 + B > K
            float[] before = m.queue().toFloatArray();
            Tensor xq = Tensor.of(cuda, Arrays.copyOfRange(input, 0, n), B, C, H, H);
            Tensor xk = Tensor.of(cuda, Arrays.copyOfRange(input, n, 2 * n), B, C, H, H);
            MocoModel.Step r = m.step(xq, xk, KEY_ORDER); // queued: the kernel finds the bad pointer on the device
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.loss().item(), "the next sync reports it");
            assertTrue(e.getMessage().contains("queue pointer " + (K - 2)) && e.getMessage().contains("does not fit the queue")
                    && e.getMessage().contains("nothing was enqueued"), e.getMessage());
            assertArrayEquals(before, m.queue().toFloatArray(), "nothing was written into the queue");
            assertArrayEquals(new long[]{K - 2}, m.queuePtr().toLongArray(), "the pointer did not move");
            // reported once: the error word is cleared, and the backend works on
            cuda.fill(m.queuePtr(), 0);
            MocoModel.Step ok = m.step(xq, xk, KEY_ORDER);
            assertTrue(Float.isFinite(ok.loss().item()));
            assertArrayEquals(new long[]{B}, m.queuePtr().toLongArray());
        }
        // the CPU refuses the same pointer at once, with the same facts
        try (Scope s = Scope.open("bad pointer cpu"); var use = Backends.use(Backends.cpu())) {
            MocoModel m = model(Backends.cpu());
            Backends.cpu().fill(m.queuePtr(), K - 2);
            Tensor xq = Tensor.of(Backends.cpu(), Arrays.copyOfRange(input, 0, n), B, C, H, H);
            Tensor xk = Tensor.of(Backends.cpu(), Arrays.copyOfRange(input, n, 2 * n), B, C, H, H);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.step(xq, xk, KEY_ORDER));
            assertTrue(e.getMessage().contains("queue pointer " + (K - 2)), e.getMessage());
        }
    }
}
