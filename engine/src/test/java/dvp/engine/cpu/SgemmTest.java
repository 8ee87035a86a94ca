package dvp.engine.cpu;

import dvp.engine.Rng;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** The blocked, threaded SGEMM against the naive triple loop, and its thread-count independence. */
class SgemmTest {
    private final Rng rng = new Rng(11);

    /** Sizes chosen to hit every edge: below one panel, panel remainders, several depth chunks and blocks. */
    @ParameterizedTest(name = "m={0} n={1} k={2}")
    @CsvSource({"1,1,1", "3,5,7", "16,16,16", "16,16,17", "13,17,29", "12,32,256", "37,33,257", "5,600,19", "301,7,45", "29,531,517", "64,49,576", "100,45,3", "37,45,2100", "48,45,2100"})
    void matchesNaiveForAllTransposesAndScalars(int m, int n, int k) {
        for (boolean ta : new boolean[]{false, true})
            for (boolean tb : new boolean[]{false, true})
                for (float[] ab : new float[][]{{1f, 0f}, {-0.75f, 0f}, {1.5f, 1f}, {0.5f, -2f}})
                    check(ta, tb, m, n, k, ab[0], ab[1], 3, 5, 2);
    }

    @Test void tallAndWideShapesCrossTheSlabAndBlockLimits() {
        check(false, false, Sgemm.MC + 7, 11, 9, 1f, 0f, 0, 0, 0);
        // op(A) too big to pack once: tasks pack MC-row slabs per depth chunk
        int k = (int) (Sgemm.SHARED_A_MAX / 2048) + 3;
        if ((long) 2048 * k <= Sgemm.SHARED_A_MAX) fail("test no longer exceeds the shared-A limit");
        check(true, false, Sgemm.MC + 500, 37, k, 1f, 0f, 0, 0, 0);
        check(true, false, 9, Sgemm.NC * 2 + 5, 13, 1f, 0.5f, 1, 0, 3);
    }

    @Test void betaZeroIgnoresNaNInC() {
        int m = 7, n = 19, k = 5;
        float[] a = rng.normal(m * k, 0, 1), b = rng.normal(k * n, 0, 1), c = new float[m * n];
        java.util.Arrays.fill(c, Float.NaN);
        Sgemm.gemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
        float[] ref = new float[m * n];
        NaiveReferences.gemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, ref, 0, n);
        for (int i = 0; i < c.length; i++) if (Float.isNaN(c[i])) fail("NaN leaked from C at " + i);
        assertClose(ref, c, a, b, false, false, m, n, k, 1f, 0f, new float[m * n], 0, n, k, n);
    }

    @Test void zeroDepthScalesC() {
        float[] c = {1, 2, 3, 4};
        Sgemm.gemm(false, false, 2, 2, 0, 1f, new float[0], 0, 0, new float[0], 0, 2, 0.5f, c, 0, 2);
        assertArrayEquals(new float[]{0.5f, 1, 1.5f, 2}, c);
        Sgemm.gemm(false, false, 2, 2, 0, 1f, new float[0], 0, 0, new float[0], 0, 2, 0f, c, 0, 2);
        assertArrayEquals(new float[4], c);
    }

    @Test void resultsAreBitIdenticalWhateverTheThreadCount() {
        for (int[] s : new int[][]{{97, 131, 300}, {13, 1000, 70}, {500, 20, 600}, {64, 3136, 64}, {40, 70, 2500}}) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = rng.normal(m * k, 0, 1), b = rng.normal(k * n, 0, 1), c0 = rng.normal(m * n, 0, 1);
            float[] first = null;
            for (int tasks : new int[]{1, 2, 3, 4, 7}) {
                float[] c = c0.clone();
                Sgemm.gemm(m, n, k, 0.7f, Sgemm.packerA(Sgemm.View.rowMajor(a, 0, k)),
                        Sgemm.packerB(Sgemm.View.rowMajor(b, 0, n)), 0.3f,
                        Sgemm.View.rowMajor(c, 0, n), tasks);
                if (first == null) first = c;
                else assertArrayEquals(first, c, "tasks=" + tasks + " changed bits for " + m + "x" + n + "x" + k);
            }
        }
    }

    @Test void batchedViewsSpanImages() {
        // B and C as [rows, images x cols] with a gap between images (the batched-conv layout)
        int m = 11, k = 9, cols = 23, images = 3;
        long bImage = (long) k * cols + 5, cImage = (long) m * cols + 3;
        float[] a = rng.normal(m * k, 0, 1), b = rng.normal((int) (bImage * images), 0, 1);
        float[] c = new float[(int) (cImage * images)];
        java.util.Arrays.fill(c, Float.NaN);
        Sgemm.gemm(m, cols * images, k, 1f, Sgemm.View.rowMajor(a, 0, k),
                Sgemm.View.batched(MemorySegment.ofArray(b), 0, cols, cols, bImage), 0f,
                Sgemm.View.batched(MemorySegment.ofArray(c), 0, cols, cols, cImage));
        for (int img = 0; img < images; img++) {
            float[] ref = new float[m * cols];
            NaiveReferences.gemm(false, false, m, cols, k, 1f, a, 0, k, b, (int) (img * bImage), cols, 0f, ref, 0, cols);
            for (int i = 0; i < m * cols; i++)
                assertEquals(ref[i], c[(int) (img * cImage) + i], 1e-4 * (1 + Math.abs(ref[i])), "image " + img + " element " + i);
            for (int i = m * cols; i < cImage && img < images - 1; i++)
                if (!Float.isNaN(c[(int) (img * cImage) + i])) fail("wrote into the gap after image " + img);
        }
    }

    /** Runs fast and naive on the same random inputs with padded leading dimensions and compares. */
    private void check(boolean ta, boolean tb, int m, int n, int k, float alpha, float beta, int padA, int padB, int padC) {
        int lda = (ta ? m : k) + padA, ldb = (tb ? k : n) + padB, ldc = n + padC;
        float[] a = rng.normal((ta ? k : m) * lda + 1, 0, 1), b = rng.normal((tb ? n : k) * ldb + 1, 0, 1);
        float[] c = rng.normal(m * ldc + 1, 0, 1);
        float[] cOld = c.clone(), ref = c.clone();
        Sgemm.gemm(ta, tb, m, n, k, alpha, a, 1, lda, b, 1, ldb, beta, c, 1, ldc);
        NaiveReferences.gemm(ta, tb, m, n, k, alpha, a, 1, lda, b, 1, ldb, beta, ref, 1, ldc);
        assertEquals(cOld[0], c[0], "wrote before C");
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc && 1 + i * ldc + j < c.length; j++)
                assertEquals(cOld[1 + i * ldc + j], c[1 + i * ldc + j], "wrote into C's padding");
        assertClose(ref, c, a, b, ta, tb, m, n, k, alpha, beta, cOld, 1, ldc, lda, ldb);
    }

    /** |fast - naive| <= 4 eps (k + 2) (|alpha| sum|a||b| + |beta c|): the fp32 summation error bound. */
    private static void assertClose(float[] ref, float[] c, float[] a, float[] b, boolean ta, boolean tb, int m, int n, int k,
                                    float alpha, float beta, float[] cOld, int off, int ldc, int lda, int ldb) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double mag = 0;
                for (int p = 0; p < k; p++) {
                    float av = ta ? a[off + p * lda + i] : a[off + i * lda + p];
                    float bv = tb ? b[off + j * ldb + p] : b[off + p * ldb + j];
                    mag += Math.abs((double) av * bv);
                }
                int at = off + i * ldc + j;
                mag = Math.abs(alpha) * mag + (beta == 0 ? 0 : Math.abs(beta * cOld[at]));
                double tol = 4 * Math.ulp(1f) * (k + 2) * mag + 1e-30;
                if (!(Math.abs(ref[at] - c[at]) <= tol))
                    fail(String.format("C[%d,%d]: naive %.8g fast %.8g (tol %.3g)", i, j, ref[at], c[at], tol));
            }
    }
}
