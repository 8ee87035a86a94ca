package dvp.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM on row-major {@code float[]} matrices:
 * C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C, with leading dimensions in elements.
 *
 * <p>This is the plain reference: op(B) is packed row-major once, then each output row is an
 * accumulation of scaled B rows (vectorised over N). Rows are split across threads, and each
 * C element is summed over k in increasing order, so results do not depend on the thread count.
 * With beta == 0, C's previous contents (even NaN) are ignored.
 */
public final class Sgemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private Sgemm() {}

    public static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                            float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float beta, float[] c, int cOff, int ldc) {
        if (m == 0 || n == 0) return;
        float[] bp = new float[k * n]; // op(B) packed [K, N]
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++)
                bp[p * n + j] = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
        Parallel.range(m, Math.max(1, 32768 / Math.max(1, n * Math.max(1, k) / 64)), (lo, hi) -> {
            float[] acc = new float[n];
            for (int i = lo; i < hi; i++) {
                java.util.Arrays.fill(acc, 0f);
                for (int p = 0; p < k; p++) {
                    float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    FloatVector va = FloatVector.broadcast(S, av);
                    int j = 0, row = p * n;
                    for (; j + S.length() <= n; j += S.length())
                        va.fma(FloatVector.fromArray(S, bp, row + j), FloatVector.fromArray(S, acc, j)).intoArray(acc, j);
                    for (; j < n; j++) acc[j] = Math.fma(av, bp[row + j], acc[j]);
                }
                int ci = cOff + i * ldc;
                if (beta == 0f) {
                    for (int j = 0; j < n; j++) c[ci + j] = alpha * acc[j];
                } else {
                    for (int j = 0; j < n; j++) c[ci + j] = alpha * acc[j] + beta * c[ci + j];
                }
            }
        });
    }
}
