package dvp.engine.cpu;

/**
 * Obviously-right references for the fast CPU kernels: plain loops, double accumulation, no blocking,
 * no threads. The fast paths (Sgemm, CpuConv) are tested against these on random odd-sized inputs.
 * Layouts are the backend's: row-major matrices, NCHW images, OIHW weights (I = C_in / groups).
 */
final class NaiveReferences {
    private NaiveReferences() {}

    /** C = alpha * op(A) @ op(B) + beta * C (beta == 0: C's old contents ignored). */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    float bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    acc += (double) av * bv;
                }
                int at = cOff + i * ldc + j;
                c[at] = beta == 0f ? (float) (alpha * acc) : (float) (alpha * acc + (double) beta * c[at]);
            }
    }

    /** Geometry of a convolution, as the tests state it. */
    record Conv(int n, int ci, int h, int w, int co, int kh, int kw, int stride, int pad, int groups) {
        int ho() { return (h + 2 * pad - kh) / stride + 1; }

        int wo() { return (w + 2 * pad - kw) / stride + 1; }

        int cig() { return ci / groups; }

        int cog() { return co / groups; }

        int xSize() { return n * ci * h * w; }

        int wSize() { return co * cig() * kh * kw; }

        int ySize() { return n * co * ho() * wo(); }

        /** The input index feeding output (n, oy, ox) through tap (c, ky, kx), or -1 in the padding. */
        int xIndex(int b, int c, int oy, int ox, int ky, int kx) {
            int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) return -1;
            return ((b * ci + c) * h + iy) * w + ix;
        }

        int wIndex(int o, int c, int ky, int kx) { return ((o * cig() + c) * kh + ky) * kw + kx; }

        int yIndex(int b, int o, int oy, int ox) { return ((b * co + o) * ho() + oy) * wo() + ox; }
    }

    /** The direct 7-loop convolution: y[n,o,oy,ox] = sum_{c,ky,kx} w[o,c,ky,kx] * x[n, g*cig + c, ...]. */
    static float[] convForward(Conv g, float[] x, float[] w) {
        float[] y = new float[g.ySize()];
        for (int b = 0; b < g.n(); b++)
            for (int o = 0; o < g.co(); o++) {
                int grp = o / g.cog();
                for (int oy = 0; oy < g.ho(); oy++)
                    for (int ox = 0; ox < g.wo(); ox++) {
                        double acc = 0;
                        for (int c = 0; c < g.cig(); c++)
                            for (int ky = 0; ky < g.kh(); ky++)
                                for (int kx = 0; kx < g.kw(); kx++) {
                                    int xi = g.xIndex(b, grp * g.cig() + c, oy, ox, ky, kx);
                                    if (xi >= 0) acc += (double) w[g.wIndex(o, c, ky, kx)] * x[xi];
                                }
                        y[g.yIndex(b, o, oy, ox)] = (float) acc;
                    }
            }
        return y;
    }

    /** dx = the adjoint of convForward applied to dy (scatter every product back to its input). */
    static float[] convBackwardData(Conv g, float[] dy, float[] w) {
        double[] dx = new double[g.xSize()];
        for (int b = 0; b < g.n(); b++)
            for (int o = 0; o < g.co(); o++) {
                int grp = o / g.cog();
                for (int oy = 0; oy < g.ho(); oy++)
                    for (int ox = 0; ox < g.wo(); ox++) {
                        double d = dy[g.yIndex(b, o, oy, ox)];
                        for (int c = 0; c < g.cig(); c++)
                            for (int ky = 0; ky < g.kh(); ky++)
                                for (int kx = 0; kx < g.kw(); kx++) {
                                    int xi = g.xIndex(b, grp * g.cig() + c, oy, ox, ky, kx);
                                    if (xi >= 0) dx[xi] += d * w[g.wIndex(o, c, ky, kx)];
                                }
                    }
            }
        return toFloat(dx);
    }

    /** dw[o,c,ky,kx] = sum over n, oy, ox of dy[n,o,oy,ox] * x[n, g*cig + c, oy*s - p + ky, ox*s - p + kx]. */
    static float[] convBackwardFilter(Conv g, float[] x, float[] dy) {
        double[] dw = new double[g.wSize()];
        for (int b = 0; b < g.n(); b++)
            for (int o = 0; o < g.co(); o++) {
                int grp = o / g.cog();
                for (int oy = 0; oy < g.ho(); oy++)
                    for (int ox = 0; ox < g.wo(); ox++) {
                        double d = dy[g.yIndex(b, o, oy, ox)];
                        for (int c = 0; c < g.cig(); c++)
                            for (int ky = 0; ky < g.kh(); ky++)
                                for (int kx = 0; kx < g.kw(); kx++) {
                                    int xi = g.xIndex(b, grp * g.cig() + c, oy, ox, ky, kx);
                                    if (xi >= 0) dw[g.wIndex(o, c, ky, kx)] += d * x[xi];
                                }
                    }
            }
        return toFloat(dw);
    }

    private static float[] toFloat(double[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) v[i];
        return out;
    }
}
