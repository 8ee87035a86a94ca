package dvp.engine.cpu;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.ConvSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dvp.engine.testing.Tensors.cpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Both CPU convolution implementations, dvp's GEMM-based kernels ({@link CpuConv}) and oneDNN's
 * ({@link OneDnnConv}, skipped with the reason when libdnnl.so.2 does not load), all three passes,
 * against the direct 7-loop reference.
 */
class CpuConvTest {
    private final Rng rng = new Rng(5);
    private Scope scope;

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    /** The code under test: dvp's kernels, or oneDNN's (null when it does not load, with the reason). */
    enum Impl {
        JAVA, ONEDNN;

        private static CpuConvChoice onednn;
        private static String missing;

        /**
         * This class's oneDNN instance; where it does not load the oneDNN cases skip with the reason,
         * unless DVP_REQUIRE_ONEDNN=1 (set by .ci/run, which installs libdnnl2) makes that a failure.
         */
        static synchronized CpuConvChoice onednn() {
            if (onednn == null && missing == null) {
                try {
                    onednn = CpuConvChoice.choose("onednn");
                } catch (RuntimeException e) {
                    missing = e.getMessage();
                }
            }
            if (onednn == null && "1".equals(System.getenv("DVP_REQUIRE_ONEDNN"))) fail("DVP_REQUIRE_ONEDNN=1 but " + missing);
            assumeTrue(onednn != null, () -> "oneDNN not available: " + missing);
            return onednn;
        }
    }

    @ParameterizedTest(name = "{10}: n={0} ci={1} {2}x{3} co={4} k={5}x{6} s={7} p={8} g={9}")
    @CsvSource({
            // n, ci, h, w, co, kh, kw, stride, pad, groups, implementation. For the java kernels, ci=121 and
            // 6x5x16x16 run several depth chunks (K = 121*9 forward, N*Ho*Wo = 1536 backward-filter), and
            // ci=64 rows make group channels a multiple of the B panel width (one-tap im2row panels).
            // The last eight: ResNet's stride-2 geometry (an even size with (h+2p-k) mod s = 1: oneDNN's
            // far padding is p-1), depthwise, padding wider than the kernel, stride wider than it, n=1
            "2, 3, 9, 7, 5, 3, 3, 1, 1, 1, JAVA",
            "3, 6, 11, 13, 9, 3, 3, 2, 1, 3, JAVA",
            "2, 5, 9, 9, 7, 1, 1, 1, 0, 1, JAVA",
            "3, 6, 9, 11, 10, 1, 1, 2, 0, 2, JAVA",
            "2, 3, 23, 21, 5, 7, 7, 2, 3, 1, JAVA",
            "5, 7, 5, 5, 11, 3, 3, 1, 1, 1, JAVA",
            "4, 12, 4, 4, 12, 3, 3, 1, 1, 4, JAVA",
            "3, 8, 7, 7, 8, 3, 3, 1, 2, 1, JAVA",
            "2, 4, 6, 5, 3, 2, 3, 1, 0, 1, JAVA",
            "2, 9, 13, 12, 6, 3, 3, 2, 0, 3, JAVA",
            "9, 19, 7, 7, 37, 3, 3, 1, 1, 1, JAVA",
            "2, 33, 17, 15, 35, 3, 3, 1, 1, 1, JAVA",
            "2, 121, 5, 5, 13, 3, 3, 1, 1, 1, JAVA",
            "6, 5, 16, 16, 7, 3, 3, 1, 1, 1, JAVA",
            "2, 64, 6, 5, 12, 3, 3, 1, 1, 1, JAVA",
            "2, 64, 7, 7, 16, 3, 3, 2, 1, 2, JAVA",
            "2, 3, 16, 16, 8, 7, 7, 2, 3, 1, JAVA",
            "2, 16, 8, 8, 32, 1, 1, 2, 0, 1, JAVA",
            "2, 16, 8, 8, 32, 3, 3, 2, 1, 1, JAVA",
            "2, 16, 9, 9, 16, 3, 3, 1, 1, 16, JAVA",
            "2, 16, 8, 8, 32, 3, 3, 2, 1, 16, JAVA",
            "2, 4, 5, 5, 6, 1, 1, 1, 1, 1, JAVA",
            "2, 4, 9, 9, 6, 2, 2, 3, 1, 1, JAVA",
            "1, 5, 7, 6, 3, 3, 3, 1, 1, 1, JAVA",
            "2, 3, 9, 7, 5, 3, 3, 1, 1, 1, ONEDNN",
            "3, 6, 11, 13, 9, 3, 3, 2, 1, 3, ONEDNN",
            "2, 5, 9, 9, 7, 1, 1, 1, 0, 1, ONEDNN",
            "3, 6, 9, 11, 10, 1, 1, 2, 0, 2, ONEDNN",
            "2, 3, 23, 21, 5, 7, 7, 2, 3, 1, ONEDNN",
            "5, 7, 5, 5, 11, 3, 3, 1, 1, 1, ONEDNN",
            "4, 12, 4, 4, 12, 3, 3, 1, 1, 4, ONEDNN",
            "3, 8, 7, 7, 8, 3, 3, 1, 2, 1, ONEDNN",
            "2, 4, 6, 5, 3, 2, 3, 1, 0, 1, ONEDNN",
            "2, 9, 13, 12, 6, 3, 3, 2, 0, 3, ONEDNN",
            "9, 19, 7, 7, 37, 3, 3, 1, 1, 1, ONEDNN",
            "2, 33, 17, 15, 35, 3, 3, 1, 1, 1, ONEDNN",
            "2, 121, 5, 5, 13, 3, 3, 1, 1, 1, ONEDNN",
            "6, 5, 16, 16, 7, 3, 3, 1, 1, 1, ONEDNN",
            "2, 64, 6, 5, 12, 3, 3, 1, 1, 1, ONEDNN",
            "2, 64, 7, 7, 16, 3, 3, 2, 1, 2, ONEDNN",
            "2, 3, 16, 16, 8, 7, 7, 2, 3, 1, ONEDNN",
            "2, 16, 8, 8, 32, 1, 1, 2, 0, 1, ONEDNN",
            "2, 16, 8, 8, 32, 3, 3, 2, 1, 1, ONEDNN",
            "2, 16, 9, 9, 16, 3, 3, 1, 1, 16, ONEDNN",
            "2, 16, 8, 8, 32, 3, 3, 2, 1, 16, ONEDNN",
            "2, 4, 5, 5, 6, 1, 1, 1, 1, 1, ONEDNN",
            "2, 4, 9, 9, 6, 2, 2, 3, 1, 1, ONEDNN",
            "1, 5, 7, 6, 3, 3, 3, 1, 1, 1, ONEDNN"})
    void allPassesMatchTheDirectConvolution(int n, int ci, int h, int w, int co, int kh, int kw, int stride, int pad, int groups, Impl impl) {
        NaiveReferences.Conv g = new NaiveReferences.Conv(n, ci, h, w, co, kh, kw, stride, pad, groups);
        float[] x = rng.normal(g.xSize(), 0, 1), wt = rng.normal(g.wSize(), 0, 1), dy = rng.normal(g.ySize(), 0, 1);
        float[][] fast = run(impl, g, x, wt, dy);
        int taps = g.cig() * kh * kw;
        assertConvClose("forward", NaiveReferences.convForward(g, x, wt), fast[0], taps);
        assertConvClose("backward-data", NaiveReferences.convBackwardData(g, dy, wt), fast[1], g.cog() * kh * kw);
        assertConvClose("backward-filter", NaiveReferences.convBackwardFilter(g, x, dy), fast[2], n * g.ho() * g.wo());
    }

    @Test void resultsDoNotDependOnHowWorkIsSplit() {
        for (NaiveReferences.Conv g : new NaiveReferences.Conv[]{
                new NaiveReferences.Conv(4, 16, 14, 14, 24, 3, 3, 1, 1, 1),
                new NaiveReferences.Conv(3, 12, 9, 9, 20, 3, 3, 2, 1, 2),
                new NaiveReferences.Conv(6, 32, 4, 4, 64, 1, 1, 1, 0, 1)}) {
            float[] x = rng.normal(g.xSize(), 0, 1), wt = rng.normal(g.wSize(), 0, 1), dy = rng.normal(g.ySize(), 0, 1);
            float[][][] results = new float[4][][];
            int[] splits = {1, 2, 3, 5};
            for (int i = 0; i < splits.length; i++) {
                int at = i;
                Parallel.withSplit(splits[i], () -> results[at] = run(Impl.JAVA, g, x, wt, dy));
            }
            for (int i = 1; i < splits.length; i++)
                for (int pass = 0; pass < 3; pass++)
                    assertArrayEquals(results[0][pass], results[i][pass], "pass " + pass + " with " + splits[i] + " pieces vs 1, " + g);
        }
    }

    /** Two separate oneDNN instances (own engine, stream and plans, as two runs would have) give the same bits. */
    @Test void oneDnnResultsAreTheSameBitsRunToRun() {
        Impl.onednn(); // skips (or fails in CI) without oneDNN
        CpuConvChoice other = CpuConvChoice.choose("onednn");
        for (NaiveReferences.Conv g : new NaiveReferences.Conv[]{
                new NaiveReferences.Conv(4, 16, 14, 14, 24, 3, 3, 1, 1, 1),
                new NaiveReferences.Conv(3, 12, 9, 9, 20, 3, 3, 2, 1, 2),
                new NaiveReferences.Conv(2, 3, 23, 21, 16, 7, 7, 2, 3, 1)}) {
            float[] x = rng.normal(g.xSize(), 0, 1), wt = rng.normal(g.wSize(), 0, 1), dy = rng.normal(g.ySize(), 0, 1);
            float[][] first = run(Impl.onednn(), g, x, wt, dy), second = run(other, g, x, wt, dy);
            for (int pass = 0; pass < 3; pass++) assertArrayEquals(first[pass], second[pass], "pass " + pass + ", " + g);
        }
    }

    @Test void theChoiceIsJavaOnedNnOrAuto() {
        assertEquals("java (dvp.cpu.conv=java)", CpuConvChoice.choose("java").describe());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CpuConvChoice.choose("mkl"));
        assertEquals("dvp.cpu.conv / DVP_CPU_CONV must be auto, onednn or java, not 'mkl'", e.getMessage());
        String auto = CpuConvChoice.choose("auto").describe();
        assertTrue(auto.startsWith("oneDNN 2.") || auto.startsWith("java (oneDNN not used: "), auto);
    }

    @Test void aMissingOneDnnIsAnErrorWhenAskedForAndJavaOnAuto() {
        System.setProperty("dvp.onednn.path", "/nonexistent/libdnnl.so.2");
        try {
            String why = "oneDNN not loaded from -Ddvp.onednn.path=/nonexistent/libdnnl.so.2: /nonexistent/libdnnl.so.2 does not exist; "
                    + "expected one of [libdnnl.so.2]; found no other version";
            RuntimeException e = assertThrows(RuntimeException.class, () -> CpuConvChoice.choose("onednn"));
            assertEquals("oneDNN was asked for and did not load: " + why, e.getMessage());
            assertEquals("java (oneDNN not used: " + why + ")", CpuConvChoice.choose("auto").describe());
        } finally {
            System.clearProperty("dvp.onednn.path");
        }
    }

    /** forward y, backward-data dx, backward-filter dw by impl, with outputs poisoned first. */
    private static float[][] run(Impl impl, NaiveReferences.Conv g, float[] x, float[] w, float[] dy) {
        return run(impl == Impl.JAVA ? null : Impl.onednn(), g, x, w, dy);
    }

    /** The three passes through oneDNN instance c, or the java kernels when c is null; outputs poisoned first. */
    private static float[][] run(CpuConvChoice c, NaiveReferences.Conv g, float[] x, float[] w, float[] dy) {
        ConvSpec spec = ConvSpec.of(g.stride(), g.pad(), g.groups());
        Tensor xt = Tensor.of(cpu(), x, g.n(), g.ci(), g.h(), g.w());
        Tensor wt = Tensor.of(cpu(), w, g.co(), g.cig(), g.kh(), g.kw());
        Tensor dyt = Tensor.of(cpu(), dy, g.n(), g.co(), g.ho(), g.wo());
        Tensor y = Tensor.full(cpu(), Float.NaN, g.n(), g.co(), g.ho(), g.wo());
        Tensor dx = Tensor.full(cpu(), Float.NaN, g.n(), g.ci(), g.h(), g.w());
        Tensor dw = Tensor.full(cpu(), Float.NaN, g.co(), g.cig(), g.kh(), g.kw());
        if (c == null) {
            CpuConv.forward(xt, wt, y, spec);
            CpuConv.backwardData(dyt, wt, dx, spec);
            CpuConv.backwardFilter(xt, dyt, dw, spec);
        } else {
            c.forward(xt, wt, y, spec);
            c.backwardData(dyt, wt, dx, spec);
            c.backwardFilter(xt, dyt, dw, spec);
        }
        return new float[][]{y.toFloatArray(), dx.toFloatArray(), dw.toFloatArray()};
    }

    /** Sums of `terms` products of N(0,1) values: error bound ~ eps * terms * typical magnitude. */
    private static void assertConvClose(String what, float[] expected, float[] actual, int terms) {
        double tol = 8 * Math.ulp(1f) * terms * Math.sqrt(terms) + 1e-6;
        double rel = dvp.engine.testing.Tensors.relError(expected, actual);
        if (!(rel < 2e-6)) fail(what + ": max relative error " + rel);
        for (int i = 0; i < expected.length; i++)
            if (!(Math.abs(expected[i] - actual[i]) <= tol * Math.max(1, Math.abs(expected[i]) / Math.sqrt(terms))))
                fail(String.format("%s: element %d direct %.7g gemm %.7g (tol %.3g)", what, i, expected[i], actual[i], tol));
    }
}
