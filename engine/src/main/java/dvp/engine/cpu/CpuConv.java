package dvp.engine.cpu;

import dvp.engine.Tensor;
import dvp.engine.spi.ConvSpec;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.IntFunction;

/**
 * Convolution as GEMMs whose panels are packed straight from the images (no column matrix in memory),
 * one GEMM per group covering <b>all images</b> (columns = image x output position), so layers with
 * tiny outputs (7x7, 4x4) still feed the microkernel full tiles. Layouts: x [N,Ci,H,W],
 * w [Co,Ci/g,kh,kw], y [N,Co,Ho,Wo].
 * <ul>
 *   <li>forward: y_g[o, (n,p)] = W_g[o, (c,ky,kx)] @ im2col(x)_g ({@link Im2colPanels}); a pointwise
 *       1x1/stride-1 conv reads x directly as the B matrix.</li>
 *   <li>backward-data, stride 1: the forward conv of dy with the flipped, transposed kernel and padding
 *       k-1-p. Other strides: GEMM into a column buffer (a chunk of images at a time), then col2im.</li>
 *   <li>backward-filter: dW_g[o, (ky,kx,c)] = dy @ im2row(x) over all images and positions, with x first
 *       made channels-last so its panels pack by vector copies ({@link Im2rowPanels}); dy's rows are read
 *       in place (contiguous runs per image).</li>
 * </ul>
 * Every output element is summed in an order fixed by the shapes alone (see {@link Sgemm}), and
 * col2im gives each input plane to one thread that adds taps in a fixed order: results are the same
 * whatever the thread count.
 */
final class CpuConv {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    /** Column buffer budget (floats) for the col2im path of backward-data. */
    private static final long COL_BUFFER = 1L << 22;

    private CpuConv() {}

    record Geometry(int n, int ci, int h, int w, int co, int kh, int kw, int ho, int wo, int groups,
                    int cig, int cog, int sh, int sw, int ph, int pw) {
        static Geometry of(int[] xs, int[] ws, ConvSpec s) {
            int cig = ws[1], groups = s.groups();
            return new Geometry(xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], s.outH(xs[2], ws[2]), s.outW(xs[3], ws[3]),
                    groups, cig, ws[0] / groups, s.strideH(), s.strideW(), s.padH(), s.padW());
        }

        /** Rows of the column matrix of one group: (c, ky, kx). */
        int colRows() { return cig * kh * kw; }

        /** Output positions per image. */
        int colCols() { return ho * wo; }

        boolean isPointwise() { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
    }

    static void forward(Tensor x, Tensor w, Tensor y, ConvSpec spec) {
        Geometry g = Geometry.of(x.shape(), w.shape(), spec);
        forward(g, Mem.seg(x), x.offset(), Mem.seg(w), w.offset(), Mem.seg(y), y.offset());
    }

    /** y = conv(x, w) for geometry g; segments with element offsets. */
    private static void forward(Geometry g, MemorySegment x, long xOff, MemorySegment w, long wOff, MemorySegment y, long yOff) {
        int k = g.colRows();
        forward(g, x, xOff, gr -> Sgemm.packerA(Sgemm.View.rowMajor(w, wOff + (long) gr * g.cog() * k, k)), y, yOff);
    }

    /** y = conv(x, W) where weights.apply(group) packs that group's W_g [cog, (c, ky, kx)]. */
    private static void forward(Geometry g, MemorySegment x, long xOff, IntFunction<Sgemm.PackA> weights, MemorySegment y, long yOff) {
        int k = g.colRows(), hwOut = g.colCols();
        for (int gr = 0; gr < g.groups(); gr++) {
            Sgemm.PackB b = g.isPointwise()
                    ? Sgemm.packerB(Sgemm.View.batched(x, xOff + (long) gr * g.cig() * hwOut, hwOut, hwOut, (long) g.ci() * hwOut))
                    : new Im2colPanels(x, xOff, g, gr * g.cig());
            Sgemm.View c = Sgemm.View.batched(y, yOff + (long) gr * g.cog() * hwOut, hwOut, hwOut, (long) g.co() * hwOut);
            Sgemm.gemm(g.cog(), g.n() * hwOut, k, 1f, weights.apply(gr), b, 0f, c, Parallel.threads());
        }
    }

    static void backwardData(Tensor dy, Tensor w, Tensor dx, ConvSpec spec) {
        Geometry g = Geometry.of(dx.shape(), w.shape(), spec);
        if (g.sh() == 1 && g.sw() == 1 && g.ph() <= g.kh() - 1 && g.pw() <= g.kw() - 1) {
            // dx[c, i] = sum_{o,t} w[o, c, t] dy[o, i + p - t]: a stride-1 conv of dy with w flipped and
            // transposed, packed straight from w (no flipped copy)
            Geometry f = Geometry.of(new int[]{g.n(), g.co(), g.ho(), g.wo()}, new int[]{g.ci(), g.cog(), g.kh(), g.kw()},
                    new ConvSpec(1, 1, g.kh() - 1 - g.ph(), g.kw() - 1 - g.pw(), g.groups()));
            MemorySegment ws = Mem.seg(w);
            forward(f, Mem.seg(dy), dy.offset(), gr -> flippedTransposed(g, ws, w.offset(), gr), Mem.seg(dx), dx.offset());
        } else {
            backwardDataCol2im(g, Mem.seg(dy), dy.offset(), Mem.seg(w), w.offset(), Mem.seg(dx), dx.offset());
        }
    }

    /**
     * Panels of group gr's flipped, transposed kernel, read straight from w [Co, cig, kh, kw]:
     * op(A)[c, (o, ky, kx)] = w[gr*cog + o, c, kh-1-ky, kw-1-kx] (packed once per GEMM, so no copy).
     */
    private static Sgemm.PackA flippedTransposed(Geometry g, MemorySegment w, long wOff, int gr) {
        int taps = g.kh() * g.kw();
        long oStride = (long) g.cig() * taps, base = wOff + (long) gr * g.cog() * oStride;
        return (i0, rows, k0, kc, mr, dst, off) -> {
            // for each o the panel's rows are one contiguous block w[o, i0 .. i0+rows, :]: copy it, then scatter
            float[] block = new float[rows * taps];
            int o = -1;
            for (int kk = 0, t = k0 % taps; kk < kc; kk++) {
                int oo = (k0 + kk) / taps;
                if (oo != o) {
                    o = oo;
                    MemorySegment.copy(w, F, (base + o * oStride + (long) i0 * taps) * 4, block, 0, block.length);
                }
                int d = off + kk * mr, src = taps - 1 - t, r = 0;
                for (; r < rows; r++) dst[d + r] = block[r * taps + src];
                for (; r < mr; r++) dst[d + r] = 0f;
                if (++t == taps) t = 0;
            }
        };
    }

    /** dcol = W_g^T @ dy_g for a chunk of images, then each input plane gathers its taps (col2im). */
    private static void backwardDataCol2im(Geometry g, MemorySegment dy, long dyOff, MemorySegment w, long wOff,
                                           MemorySegment dx, long dxOff) {
        int k = g.colRows(), hwOut = g.colCols(), rows = g.groups() * k;
        int chunk = (int) Math.clamp(COL_BUFFER / ((long) rows * hwOut), 1, g.n());
        float[] col = Scratch.get(0, (long) rows * chunk * hwOut);
        MemorySegment colSeg = MemorySegment.ofArray(col);
        for (int n0 = 0; n0 < g.n(); n0 += chunk) {
            int images = Math.min(chunk, g.n() - n0), cols = images * hwOut;
            for (int gr = 0; gr < g.groups(); gr++) {
                Sgemm.View a = Sgemm.View.rowMajor(w, wOff + (long) gr * g.cog() * k, k).transposed();
                Sgemm.View b = Sgemm.View.batched(dy, dyOff + ((long) n0 * g.co() + (long) gr * g.cog()) * hwOut, hwOut, hwOut, (long) g.co() * hwOut);
                Sgemm.View c = Sgemm.View.rowMajor(colSeg, (long) gr * k * cols, cols);
                Sgemm.gemm(k, cols, g.cog(), 1f, a, b, 0f, c);
            }
            final int first = n0;
            Parallel.range(images * g.ci(), 4, (lo, hi) -> {
                float[] plane = new float[g.h() * g.w()];
                for (int task = lo; task < hi; task++) {
                    int img = task / g.ci(), ch = task % g.ci();
                    col2imPlane(g, col, cols, img * hwOut, ch, plane);
                    MemorySegment.copy(plane, 0, dx, F, (dxOff + ((long) (first + img) * g.ci() + ch) * g.h() * g.w()) * 4, plane.length);
                }
            });
        }
    }

    /** plane[iy, ix] = sum over taps (ky, kx) in order of col[(ch, ky, kx), colOff + (oy, ox)] landing there. */
    private static void col2imPlane(Geometry g, float[] col, int cols, int colOff, int ch, float[] plane) {
        java.util.Arrays.fill(plane, 0f);
        for (int ky = 0; ky < g.kh(); ky++)
            for (int kx = 0; kx < g.kw(); kx++) {
                int row = ((ch * g.kh() + ky) * g.kw() + kx) * cols + colOff;
                for (int oy = 0; oy < g.ho(); oy++) {
                    int iy = oy * g.sh() - g.ph() + ky;
                    if (iy < 0 || iy >= g.h()) continue;
                    int src = row + oy * g.wo(), dst = iy * g.w();
                    for (int ox = 0; ox < g.wo(); ox++) {
                        int ix = ox * g.sw() - g.pw() + kx;
                        if (ix >= 0 && ix < g.w()) plane[dst + ix] += col[src + ox];
                    }
                }
            }
    }

    static void backwardFilter(Tensor x, Tensor dy, Tensor dw, ConvSpec spec) {
        Geometry g = Geometry.of(x.shape(), dw.shape(), spec);
        int k = g.colRows(), hwOut = g.colCols(), depth = g.n() * hwOut, taps = g.kh() * g.kw();
        float[] xhwc = Scratch.get(0, (long) g.n() * g.ci() * g.h() * g.w());
        float[] dwr = Scratch.get(2, (long) g.co() * k);
        Transpose.batched(Mem.seg(x), x.offset(), g.n(), g.ci(), g.h() * g.w(), xhwc, 0);
        MemorySegment dySeg = Mem.seg(dy), dwrSeg = MemorySegment.ofArray(dwr);
        for (int gr = 0; gr < g.groups(); gr++) {
            // op(A)[o, (n,p)] = dy[n, gr*cog + o, p]: rows of dy's planes, one column block per image
            // (packed by contiguous row reads, so dy needs no channels-last copy)
            Sgemm.View a = Sgemm.View.batched(dySeg, dy.offset() + (long) gr * g.cog() * hwOut, hwOut, hwOut, (long) g.co() * hwOut);
            Sgemm.View c = Sgemm.View.rowMajor(dwrSeg, (long) gr * g.cog() * k, k);
            Sgemm.gemm(g.cog(), k, depth, 1f, Sgemm.packerA(a), new Im2rowPanels(xhwc, g, gr * g.cig()), 0f, c, Parallel.threads());
        }
        // dwr[o, (ky, kx, c)] -> dw[o, c, ky, kx]: each output channel's kernels reordered in a small
        // array (it stays in L1) and written with one copy; output channels split between threads
        Parallel.range(g.co(), 8, (lo, hi) -> {
            float[] row = new float[k];
            for (int o = lo; o < hi; o++) {
                int src = o * k;
                for (int t = 0; t < taps; t++)
                    for (int c = 0; c < g.cig(); c++) row[c * taps + t] = dwr[src + t * g.cig() + c];
                Mem.write(row, 0, dw, (long) o * k, k);
            }
        });
    }
}
