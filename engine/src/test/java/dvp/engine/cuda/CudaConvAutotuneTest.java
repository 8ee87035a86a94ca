package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.cuda.ffm.Cudnn;
import dvp.engine.cuda.ffm.LibraryCallException;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.engine.spi.ConvSpec;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Autotuned convolution algorithms (cudnn.benchmark) on the simulated cuDNN: Find's records, the
 * per-shape cache, {@code deterministic}, and a capture that meets an untuned shape. Each test uses
 * shapes of its own, because the algorithm cache lives as long as the JVM's CUDA context.
 * Simulation only: the simulated Find's times are a stated model that orders the list, not speeds.
 */
class CudaConvAutotuneTest {
    private static final ConvSpec PAD1 = ConvSpec.of(1, 1, 1);
    /** float unit roundoff */
    private static final double U = 0x1p-24;

    @Test
    void findRunsEverySupportedAlgorithmAndReturnsThemSortedWithHonestRecords() {
        CudaBackend cuda = CudaTesting.cuda();
        CudaContext ctx = CudaContext.get();
        ctx.enter("test");
        Cudnn dnn = ctx.dnn;
        Rng rng = new Rng(11);
        try (Scope s = Scope.open("find")) {
            Tensor x = Tensor.of(cuda, rng.normal(3 * 4 * 7 * 6, 0, 1), 3, 4, 7, 6), w = Tensor.of(cuda, rng.normal(5 * 4 * 9, 0, 1), 5, 4, 3, 3);
            Tensor dy = Tensor.of(cuda, rng.normal(3 * 5 * 7 * 6, 0, 1), 3, 5, 7, 6);
            Tensor y = Tensor.empty(cuda, DType.F32, 3, 5, 7, 6), dx = Tensor.empty(cuda, DType.F32, x.shape()), dw = Tensor.empty(cuda, DType.F32, w.shape());
            MemorySegment xd = dnn.tensor4d(Cudnn.TENSOR_NCHW, Cudnn.DATA_FLOAT, 3, 4, 7, 6), wd = dnn.filter4d(Cudnn.DATA_FLOAT, Cudnn.TENSOR_NCHW, 5, 4, 3, 3);
            MemorySegment yd = dnn.tensor4d(Cudnn.TENSOR_NCHW, Cudnn.DATA_FLOAT, 3, 5, 7, 6);
            MemorySegment cd = dnn.convolution2d(1, 1, 1, 1, Cudnn.DATA_FLOAT, 1, Cudnn.FMA_MATH);
            CachingAllocator.Block ws = ctx.allocator.allocate(1 << 20, "test workspace"); // more than any algorithm here needs
            try {
                cuda.fill(y, Double.NaN);
                List<Cudnn.AlgoPerf> fwd = dnn.find(Cudnn.Direction.FORWARD, xd, Addr.of(x), wd, Addr.of(w), cd, yd, Addr.of(y), ws.address, ws.size);
                checkRecords("forward", fwd, 8, Set.of(0, 1, 2), Set.of(), dnn, Cudnn.Direction.FORWARD, xd, wd, cd, yd);
                assertWithinSumBound("forward Find's y", y.toFloatArray(), cpuForward(x, w), cpuForward(abs(x), abs(w)), 4 * 9);

                List<Cudnn.AlgoPerf> bf = dnn.find(Cudnn.Direction.BACKWARD_FILTER, xd, Addr.of(x), yd, Addr.of(dy), cd, wd, Addr.of(dw), ws.address, ws.size);
                checkRecords("backward filter", bf, 7, Set.of(0, 1, 3), Set.of(0, 3), dnn, Cudnn.Direction.BACKWARD_FILTER, xd, yd, cd, wd);
                List<Cudnn.AlgoPerf> bd = dnn.find(Cudnn.Direction.BACKWARD_DATA, wd, Addr.of(w), yd, Addr.of(dy), cd, xd, Addr.of(dx), ws.address, ws.size);
                checkRecords("backward data", bd, 6, Set.of(0, 1), Set.of(0), dnn, Cudnn.Direction.BACKWARD_DATA, wd, yd, cd, xd);

                // without a workspace only the workspace-free algorithm runs; the others say what they need
                List<Cudnn.AlgoPerf> none = dnn.find(Cudnn.Direction.FORWARD, xd, Addr.of(x), wd, Addr.of(w), cd, yd, Addr.of(y), 0, 0);
                assertEquals(0, none.getFirst().algo(), "IMPLICIT_GEMM needs no workspace: " + none);
                assertEquals(1, none.stream().filter(Cudnn.AlgoPerf::succeeded).count(), none.toString());
                for (Cudnn.AlgoPerf p : none)
                    if (p.algo() == 1 || p.algo() == 2) assertTrue(!p.succeeded() && p.memory() > 0 && p.timeMs() == -1f, p.toString());
            } finally {
                ctx.allocator.free(ws);
                dnn.destroyTensor(xd);
                dnn.destroyTensor(yd);
                dnn.destroyFilter(wd);
                dnn.destroyConvolution(cd);
            }
        }
    }

    /**
     * Records of one Find: {@code count} records, exactly {@code ok} succeeded, those first by
     * ascending time (> 0) with the workspace the size query reports, the rest with time -1;
     * determinism as cuDNN's header marks the algorithms; the descriptor's math type (FMA).
     */
    private static void checkRecords(String what, List<Cudnn.AlgoPerf> recs, int count, Set<Integer> ok, Set<Integer> nondeterministic, Cudnn dnn,
                                     Cudnn.Direction dir, MemorySegment d0, MemorySegment d1, MemorySegment cd, MemorySegment d2) {
        assertEquals(count, recs.size(), what + ": " + recs);
        Set<Integer> succeeded = new TreeSet<>();
        float last = 0;
        boolean failures = false;
        for (Cudnn.AlgoPerf p : recs) {
            assertEquals(!nondeterministic.contains(p.algo()), p.deterministic(), what + " determinism of " + p);
            assertEquals(Cudnn.FMA_MATH, p.mathType(), what + " " + p);
            if (p.succeeded()) {
                assertFalse(failures, what + ": a success after a failure: " + recs);
                assertTrue(p.timeMs() > 0 && p.timeMs() >= last, what + ": not sorted by time: " + recs);
                assertEquals(dnn.workspaceSize(dir, d0, d1, cd, d2, p.algo()), p.memory(), what + " memory of " + p);
                last = p.timeMs();
                succeeded.add(p.algo());
            } else {
                failures = true;
                assertEquals(-1f, p.timeMs(), what + " " + p);
            }
        }
        assertEquals(new TreeSet<>(ok), succeeded, what + ": " + recs);
    }

    @Test
    void aShapeIsTunedOncePerDirectionAndSettingAndLaterCallsReuseIt() {
        CudaBackend cuda = CudaTesting.cuda();
        Rng rng = new Rng(12);
        try (Scope s = Scope.open("cache")) {
            Conv c = new Conv(cuda, rng, 2, 3, 11, 5, 4);
            int before = CudaConvAlgorithms.findCalls();
            c.all();
            assertEquals(before + 3, CudaConvAlgorithms.findCalls(), "one Find per direction for a new shape");
            c.all();
            c.all();
            assertEquals(before + 3, CudaConvAlgorithms.findCalls(), "a tuned shape must not call Find again");
            boolean det = cuda.deterministic();
            try {
                cuda.setDeterministic(!det); // the other setting than the one the shape was tuned under (on by default)
                c.all();
                assertEquals(before + 6, CudaConvAlgorithms.findCalls(), "--deterministic is part of the key: choices made under the other setting are not reused");
                c.all();
                assertEquals(before + 6, CudaConvAlgorithms.findCalls());
            } finally {
                cuda.setDeterministic(det);
            }
            boolean bench = cuda.cudnnBenchmark();
            try {
                cuda.setCudnnBenchmark(false);
                c.all();
                assertEquals(before + 6, CudaConvAlgorithms.findCalls(), "with benchmarking off the heuristics choose, without Find");
            } finally {
                cuda.setCudnnBenchmark(bench);
            }
        }
    }

    @Test
    void deterministicGivesBitIdenticalResultsAndNeverANonDeterministicAlgorithm() {
        CudaBackend cuda = CudaTesting.cuda();
        Rng rng = new Rng(13);
        boolean det = cuda.deterministic();
        try (Scope s = Scope.open("deterministic")) {
            Conv c = new Conv(cuda, rng, 4, 3, 9, 9, 5);
            // Without it, the simulated Find ranks the atomics-based backward algorithms first for
            // this shape (its stated cost model), so the autotuner picks them and two runs differ:
            // the check below has something to catch.
            cuda.setDeterministic(false);
            List<float[]> free = new ArrayList<>();
            for (int i = 0; i < 4; i++) free.add(c.backwardFilter());
            assertTrue(free.stream().anyMatch(r -> !Arrays.equals(r, free.getFirst())),
                    "a non-deterministic backward-filter algorithm was expected to be chosen (and to vary) without --deterministic");

            cuda.setDeterministic(true);
            float[] y1 = c.forward(), dx1 = c.backwardData(), dw1 = c.backwardFilter();
            float[] y2 = c.forward(), dx2 = c.backwardData(), dw2 = c.backwardFilter();
            assertArrayEquals(y1, y2, "forward");
            assertArrayEquals(dx1, dx2, "backward data");
            assertArrayEquals(dw1, dw2, "backward filter");
            int deterministicKeys = 0;
            for (Map.Entry<CudaConvAlgorithms.Key, CudaConvAlgorithms.Choice> e : CudaConvAlgorithms.cached().entrySet()) {
                if (!e.getKey().deterministic()) continue;
                deterministicKeys++;
                assertTrue(e.getValue().algo().deterministic(), "a non-deterministic algorithm chosen with --deterministic: " + e);
            }
            assertTrue(deterministicKeys >= 3, "no deterministic choice was cached");
        } finally {
            cuda.setDeterministic(det);
        }
    }

    @Test
    void aCaptureThatMeetsAnUntunedShapeUsesTheHeuristicChoiceAndReplaysCorrectly() {
        CudaBackend cuda = CudaTesting.cuda();
        Rng rng = new Rng(14);
        try (Scope s = Scope.open("capture")) {
            Conv c = new Conv(cuda, rng, 2, 5, 8, 7, 6);
            Tensor y = Tensor.empty(cuda, DType.F32, c.y.shape());
            int before = CudaConvAlgorithms.findCalls();
            // Find during the capture would synchronise the capturing stream and invalidate the capture
            try (CudaGraph g = cuda.captureGraph(() -> cuda.conv2dForward(c.x, c.w, y, PAD1))) {
                assertEquals(before, CudaConvAlgorithms.findCalls(), "Find must not run during a capture");
                assertTrue(CudaConvAlgorithms.cached().values().stream()
                        .noneMatch(ch -> ch.source() == CudaConvAlgorithms.Source.HEURISTIC_DURING_CAPTURE), "a capture-time choice was cached");
                cuda.fill(y, Double.NaN);
                g.replay();
                assertWithinSumBound("replayed forward", y.toFloatArray(), cpuForward(c.x, c.w), cpuForward(abs(c.x), abs(c.w)), 5 * 9);
            }
            c.forward(); // eager, after the capture: the shape is tuned now
            assertEquals(before + 1, CudaConvAlgorithms.findCalls(), "the first eager call after the capture tunes the shape");
        }
    }

    /**
     * Why the autotuner never calls Find while capturing: Find synchronises the stream, which a
     * capture forbids; the simulated cuDNN fails the call and the capture is invalidated, as on a GPU.
     */
    @Test
    void findDuringACaptureFailsByNameAndInvalidatesTheCapture() {
        CudaBackend cuda = CudaTesting.cuda();
        CudaContext ctx = CudaContext.get();
        Cudnn dnn = ctx.dnn;
        Rng rng = new Rng(15);
        try (Scope s = Scope.open("find in capture")) {
            Conv c = new Conv(cuda, rng, 1, 2, 5, 5, 3);
            MemorySegment xd = dnn.tensor4d(Cudnn.TENSOR_NCHW, Cudnn.DATA_FLOAT, 1, 2, 5, 5), wd = dnn.filter4d(Cudnn.DATA_FLOAT, Cudnn.TENSOR_NCHW, 3, 2, 3, 3);
            MemorySegment yd = dnn.tensor4d(Cudnn.TENSOR_NCHW, Cudnn.DATA_FLOAT, 1, 3, 5, 5);
            MemorySegment cd = dnn.convolution2d(1, 1, 1, 1, Cudnn.DATA_FLOAT, 1, Cudnn.FMA_MATH);
            String[] findError = new String[1];
            try {
                RuntimeException capture = assertThrows(RuntimeException.class, () -> cuda.captureGraph(() -> {
                    try {
                        dnn.find(Cudnn.Direction.FORWARD, xd, Addr.of(c.x), wd, Addr.of(c.w), cd, yd, Addr.of(c.y), 0, 0);
                    } catch (LibraryCallException e) {
                        findError[0] = e.getMessage();
                    }
                }));
                assertTrue(findError[0] != null && findError[0].contains("cudnnFindConvolutionForwardAlgorithmEx")
                        && findError[0].contains("EXECUTION_FAILED"), String.valueOf(findError[0]));
                assertTrue(capture.getMessage().contains("cuStreamEndCapture"), capture.getMessage());
            } finally {
                dnn.destroyTensor(xd);
                dnn.destroyTensor(yd);
                dnn.destroyFilter(wd);
                dnn.destroyConvolution(cd);
            }
            // the context is usable afterwards
            assertWithinSumBound("forward after the failed capture", c.forward(), cpuForward(c.x, c.w), cpuForward(abs(c.x), abs(c.w)), 2 * 9);
        }
    }

    /** x [n, c, h, w], w [k, c, 3, 3], padding 1, with dy, on the CUDA backend. */
    private static final class Conv {
        final CudaBackend cuda;
        final Tensor x, w, dy, y, dx, dw;

        Conv(CudaBackend cuda, Rng rng, int n, int c, int h, int wd, int k) {
            this.cuda = cuda;
            x = Tensor.of(cuda, rng.normal(n * c * h * wd, 0, 1), n, c, h, wd);
            w = Tensor.of(cuda, rng.normal(k * c * 9, 0, 1), k, c, 3, 3);
            dy = Tensor.of(cuda, rng.normal(n * k * h * wd, 0, 1), n, k, h, wd);
            y = Tensor.empty(cuda, DType.F32, n, k, h, wd);
            dx = Tensor.empty(cuda, DType.F32, x.shape());
            dw = Tensor.empty(cuda, DType.F32, w.shape());
        }

        float[] forward() { cuda.conv2dForward(x, w, y, PAD1); return y.toFloatArray(); }

        float[] backwardData() { cuda.conv2dBackwardData(dy, w, dx, PAD1); return dx.toFloatArray(); }

        float[] backwardFilter() { cuda.conv2dBackwardFilter(x, dy, dw, PAD1); return dw.toFloatArray(); }

        void all() { forward(); backwardData(); backwardFilter(); }
    }

    private static Tensor abs(Tensor t) {
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = Math.abs(v[i]);
        return Tensor.of(Backends.cpu(), v, t.shape());
    }

    /** The CPU reference forward (padding 1) of x and w, wherever they live. */
    private static float[] cpuForward(Tensor x, Tensor w) {
        Backend cpu = Backends.cpu();
        Tensor xc = Tensor.of(cpu, x.toFloatArray(), x.shape()), wc = Tensor.of(cpu, w.toFloatArray(), w.shape());
        Tensor y = Tensor.empty(cpu, DType.F32, x.shape()[0], w.shape()[0], x.shape()[2], x.shape()[3]);
        cpu.conv2dForward(xc, wc, y, PAD1);
        return y.toFloatArray();
    }

    /**
     * |got - want| <= 2 * terms * u * sum|products| per element: each side sums at most
     * {@code terms} products (C/G * R * S) in float in some order, whose error is at most
     * (terms - 1) * u * sum|products| (plus rounding the products, within the same bound); the
     * simulated cuDNN sums in double, so its own share is smaller still. {@code absSum} is the
     * CPU convolution of |x| and |w|: sum|products| per output, up to its own (1 + terms * u).
     */
    private static void assertWithinSumBound(String what, float[] got, float[] want, float[] absSum, int terms) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < got.length; i++) {
            double bound = 2.0 * terms * U * absSum[i] * (1 + terms * U);
            assertTrue(Math.abs((double) got[i] - want[i]) <= bound,
                    what + " [" + i + "]: " + got[i] + " vs CPU " + want[i] + " (bound " + bound + ")");
        }
    }
}
