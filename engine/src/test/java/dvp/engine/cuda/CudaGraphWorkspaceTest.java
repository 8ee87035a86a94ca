package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.ConvSpec;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cuDNN workspace is one block shared by every convolution, eager or captured. Two graphs
 * capture convolutions that use it; the first graph is closed; a larger convolution grows the
 * workspace (the old block is freed). The old block must not be handed to a new tensor while the
 * second graph can still replay into it: on replay cuDNN overwrites its workspace (the simulated
 * cuDNN fills it with NaN patterns before and after the work, as undefined contents).
 */
class CudaGraphWorkspaceTest {
    private static final ConvSpec SPEC = ConvSpec.of(1, 1, 1);

    @Test
    void aWorkspaceSharedByTwoGraphsIsNotReusedWhileEitherCanReplay() {
        CudaBackend cuda = CudaTesting.cuda();
        CudaContext ctx = CudaContext.get();
        Rng rng = new Rng(3);
        // the replays are compared with the eager results bit for bit: that needs deterministic
        // algorithms (autotuning may otherwise pick cuDNN's atomics-based, run-to-run varying ones)
        boolean det = cuda.deterministic();
        cuda.setDeterministic(true);
        try (Scope s = Scope.open("workspace")) {
            Tensor x = Tensor.of(cuda, rng.normal(2 * 4 * 9 * 9, 0, 1), 2, 4, 9, 9), w = Tensor.of(cuda, rng.normal(6 * 4 * 9, 0, 1), 6, 4, 3, 3);
            Tensor dy = Tensor.of(cuda, rng.normal(2 * 6 * 9 * 9, 0, 1), 2, 6, 9, 9);
            Tensor[] outs = new Tensor[6];
            for (int i = 0; i < 6; i++) outs[i] = Tensor.empty(cuda, DType.F32, i % 3 == 0 ? new int[]{2, 6, 9, 9} : i % 3 == 1 ? x.shape() : w.shape());
            convs(cuda, x, w, dy, outs, 0); // eager first: the plans and the workspace exist before any capture
            float[][] want = {outs[0].toFloatArray(), outs[1].toFloatArray(), outs[2].toFloatArray()};
            long oldBytes = ctx.workspaceBytes();
            assertTrue(oldBytes > 0, "no convolution direction needed a workspace: the test would prove nothing");
            CudaGraph a = cuda.captureGraph(() -> convs(cuda, x, w, dy, outs, 0));
            CudaGraph b = cuda.captureGraph(() -> convs(cuda, x, w, dy, outs, 3));
            a.close();
            // larger convolutions until the workspace grows (its old block is freed into the cache)
            int c = 8;
            while (ctx.workspaceBytes() == oldBytes && c <= 256) {
                try (Scope t = Scope.open("grow")) {
                    Tensor xg = Tensor.zeros(cuda, 2, c, 17, 17), wg = Tensor.zeros(cuda, c, c, 3, 3), dyg = Tensor.zeros(cuda, 2, c, 17, 17);
                    Tensor[] og = {Tensor.empty(cuda, DType.F32, 2, c, 17, 17), Tensor.empty(cuda, DType.F32, xg.shape()),
                            Tensor.empty(cuda, DType.F32, wg.shape())};
                    convs(cuda, xg, wg, dyg, og, 0);
                }
                c *= 2;
            }
            assertTrue(ctx.workspaceBytes() > oldBytes, "the workspace never grew");
            // tensors of exactly the old workspace's size class: the cache hands out freed blocks of a class first
            Tensor[] bystanders = new Tensor[8];
            for (int i = 0; i < bystanders.length; i++) {
                bystanders[i] = Tensor.empty(cuda, DType.F32, (int) (oldBytes / 4));
                cuda.fill(bystanders[i], 1.0);
            }
            b.replay();
            int corrupted = 0;
            for (Tensor t : bystanders) for (float v : t.toFloatArray()) if (v != 1f) corrupted++;
            assertEquals(0, corrupted, "graph B's replay wrote its workspace into a tensor allocated after graph A closed");
            assertArrayEquals(want[0], outs[3].toFloatArray(), "graph B's forward");
            assertArrayEquals(want[1], outs[4].toFloatArray(), "graph B's backward data");
            assertArrayEquals(want[2], outs[5].toFloatArray(), "graph B's backward filter");
            b.close();
        } finally {
            cuda.setDeterministic(det);
        }
    }

    /** y = conv(x, w), dx = conv^T(dy, w), dw = conv'(x, dy) into outs[at..at+2]. */
    private static void convs(CudaBackend cuda, Tensor x, Tensor w, Tensor dy, Tensor[] outs, int at) {
        cuda.conv2dForward(x, w, outs[at], SPEC);
        cuda.conv2dBackwardData(dy, w, outs[at + 1], SPEC);
        cuda.conv2dBackwardFilter(x, dy, outs[at + 2], SPEC);
    }
}
