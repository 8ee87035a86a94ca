package dvp.engine.cpu;

import dvp.engine.Tensor;
import dvp.engine.spi.ConvSpec;

/**
 * Convolution as im2col + GEMM, one image and one group at a time (ResNeXt's groups are separate
 * GEMMs over channel slices). Layouts: x [N,Ci,H,W], w [Co,Ci/g,kh,kw], y [N,Co,Ho,Wo].
 * The column matrix of one image/group is [Ci/g * kh * kw, Ho*Wo], row index (ci, ky, kx).
 *
 * <p>Backward-filter sums over images in order n = 0..N-1 into one accumulator, so the weight
 * gradient is the same whatever the thread count (threads split the GEMM's rows, never the sum).
 */
final class CpuConv {
    private CpuConv() {}

    record Geometry(int n, int ci, int h, int w, int co, int kh, int kw, int ho, int wo, int groups,
                    int cig, int cog, int sh, int sw, int ph, int pw) {
        static Geometry of(int[] xs, int[] ws, ConvSpec s) {
            int cig = ws[1], groups = s.groups();
            return new Geometry(xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], s.outH(xs[2], ws[2]), s.outW(xs[3], ws[3]),
                    groups, cig, ws[0] / groups, s.strideH(), s.strideW(), s.padH(), s.padW());
        }

        int colRows() { return cig * kh * kw; }

        int colCols() { return ho * wo; }

        boolean isPointwise() { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
    }

    /** col[(c,ky,kx), (oy,ox)] = x[c0 + c, oy*sh - ph + ky, ox*sw - pw + kx] (0 outside). */
    static void im2col(float[] x, int xOff, Geometry g, int c0, float[] col) {
        int cols = g.colCols();
        Parallel.range(g.cig, (lo, hi) -> {
            for (int c = lo; c < hi; c++) {
                int plane = xOff + (c0 + c) * g.h * g.w;
                for (int ky = 0; ky < g.kh; ky++) {
                    for (int kx = 0; kx < g.kw; kx++) {
                        int row = ((c * g.kh + ky) * g.kw + kx) * cols;
                        for (int oy = 0; oy < g.ho; oy++) {
                            int iy = oy * g.sh - g.ph + ky;
                            int o = row + oy * g.wo;
                            if (iy < 0 || iy >= g.h) {
                                java.util.Arrays.fill(col, o, o + g.wo, 0f);
                                continue;
                            }
                            int src = plane + iy * g.w;
                            for (int ox = 0; ox < g.wo; ox++) {
                                int ix = ox * g.sw - g.pw + kx;
                                col[o + ox] = ix >= 0 && ix < g.w ? x[src + ix] : 0f;
                            }
                        }
                    }
                }
            }
        });
    }

    /** dx[c0 + c, iy, ix] += col[(c,ky,kx), (oy,ox)] — the adjoint of im2col. */
    static void col2im(float[] col, Geometry g, int c0, float[] dx, int dxOff) {
        int cols = g.colCols();
        Parallel.range(g.cig, (lo, hi) -> {
            for (int c = lo; c < hi; c++) {
                int plane = dxOff + (c0 + c) * g.h * g.w;
                for (int ky = 0; ky < g.kh; ky++) {
                    for (int kx = 0; kx < g.kw; kx++) {
                        int row = ((c * g.kh + ky) * g.kw + kx) * cols;
                        for (int oy = 0; oy < g.ho; oy++) {
                            int iy = oy * g.sh - g.ph + ky;
                            if (iy < 0 || iy >= g.h) continue;
                            int o = row + oy * g.wo, dst = plane + iy * g.w;
                            for (int ox = 0; ox < g.wo; ox++) {
                                int ix = ox * g.sw - g.pw + kx;
                                if (ix >= 0 && ix < g.w) dx[dst + ix] += col[o + ox];
                            }
                        }
                    }
                }
            }
        });
    }

    static void forward(Tensor xt, Tensor wt, Tensor yt, ConvSpec spec) {
        Geometry g = Geometry.of(xt.shape(), wt.shape(), spec);
        float[] w = Mem.toArray(wt);
        int xImage = g.ci * g.h * g.w, yImage = g.co * g.ho * g.wo, k = g.colRows(), cols = g.colCols();
        float[] x = new float[xImage], y = new float[yImage];
        float[] col = g.isPointwise() ? null : new float[k * cols];
        for (int n = 0; n < g.n; n++) {
            Mem.read(xt, (long) n * xImage, x, 0, xImage);
            for (int gr = 0; gr < g.groups; gr++) {
                float[] b;
                int bOff;
                if (col == null) { b = x; bOff = gr * g.cig * cols; } else { im2col(x, 0, g, gr * g.cig, col); b = col; bOff = 0; }
                Sgemm.gemm(false, false, g.cog, cols, k, 1f, w, gr * g.cog * k, k, b, bOff, cols, 0f, y, gr * g.cog * cols, cols);
            }
            Mem.write(y, 0, yt, (long) n * yImage, yImage);
        }
    }

    static void backwardData(Tensor dyt, Tensor wt, Tensor dxt, ConvSpec spec) {
        Geometry g = Geometry.of(dxt.shape(), wt.shape(), spec);
        float[] w = Mem.toArray(wt);
        int xImage = g.ci * g.h * g.w, yImage = g.co * g.ho * g.wo, k = g.colRows(), cols = g.colCols();
        float[] dy = new float[yImage], dx = new float[xImage];
        float[] col = g.isPointwise() ? null : new float[k * cols];
        for (int n = 0; n < g.n; n++) {
            Mem.read(dyt, (long) n * yImage, dy, 0, yImage);
            for (int gr = 0; gr < g.groups; gr++) {
                if (col == null) {
                    // pointwise: dx_g = W_g^T @ dy_g, written straight into dx
                    Sgemm.gemm(true, false, k, cols, g.cog, 1f, w, gr * g.cog * k, k, dy, gr * g.cog * cols, cols, 0f, dx, gr * g.cig * cols, cols);
                } else {
                    Sgemm.gemm(true, false, k, cols, g.cog, 1f, w, gr * g.cog * k, k, dy, gr * g.cog * cols, cols, 0f, col, 0, cols);
                    if (gr == 0) java.util.Arrays.fill(dx, 0f);
                    col2im(col, g, gr * g.cig, dx, 0);
                }
            }
            Mem.write(dx, 0, dxt, (long) n * xImage, xImage);
        }
    }

    static void backwardFilter(Tensor xt, Tensor dyt, Tensor dwt, ConvSpec spec) {
        Geometry g = Geometry.of(xt.shape(), dwt.shape(), spec);
        int xImage = g.ci * g.h * g.w, yImage = g.co * g.ho * g.wo, k = g.colRows(), cols = g.colCols();
        float[] x = new float[xImage], dy = new float[yImage], dw = new float[g.co * k];
        float[] col = g.isPointwise() ? null : new float[k * cols];
        for (int n = 0; n < g.n; n++) {
            Mem.read(xt, (long) n * xImage, x, 0, xImage);
            Mem.read(dyt, (long) n * yImage, dy, 0, yImage);
            for (int gr = 0; gr < g.groups; gr++) {
                float[] b;
                int bOff;
                if (col == null) { b = x; bOff = gr * g.cig * cols; } else { im2col(x, 0, g, gr * g.cig, col); b = col; bOff = 0; }
                // dW_g += dy_g @ col^T
                Sgemm.gemm(false, true, g.cog, k, cols, 1f, dy, gr * g.cog * cols, cols, b, bOff, cols, n == 0 ? 0f : 1f, dw, gr * g.cog * k, k);
            }
        }
        Mem.write(dw, 0, dwt, 0, dw.length);
    }
}
