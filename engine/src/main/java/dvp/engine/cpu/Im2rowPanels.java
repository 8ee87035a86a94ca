package dvp.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The transposed column matrix ("im2row") as SGEMM B panels, packed from a channels-last (NHWC) copy
 * of the input, for the weight gradient: row k = (n, oy, ox) over all images, column j = (ky, kx, c)
 * (c fastest), element = x[n, oy*sh - ph + ky, ox*sw - pw + kx, c0 + c], 0 in the padding.
 *
 * <p>In NHWC a panel row is a few contiguous runs: the channels of one tap, or, without groups, the
 * whole (kx, c) stretch of one kernel row (consecutive kx are neighbouring pixels). So packing is vector
 * copies, no transposition.
 */
final class Im2rowPanels implements Sgemm.PackB {
    private static final VectorSpecies<Float> S = Sgemm.S;
    private static final int L = Sgemm.L, NR = Sgemm.NR;

    private final float[] xhwc;
    private final CpuConv.Geometry g;
    private final int c0;
    /** Columns per contiguous stretch: one kernel row (kw*ci) without groups, one tap (cig) with. */
    private final int stretch;

    /** xhwc: the input as [N, H, W, Ci]; c0: first channel of the group. */
    Im2rowPanels(float[] xhwc, CpuConv.Geometry g, int c0) {
        this.xhwc = xhwc;
        this.g = g;
        this.c0 = c0;
        this.stretch = g.cig() == g.ci() ? g.kw() * g.ci() : g.cig();
    }

    @Override
    public void pack(int k0, int kc, int j0, int cols, float[] dst, int off) {
        int hw = g.ho() * g.wo(), cig = g.cig(), ci = g.ci();
        int n = k0 / hw, pos = k0 % hw, oy = pos / g.wo(), ox = pos % g.wo();
        for (int kk = 0; kk < kc; kk++) {
            int o = off + kk * NR;
            int done = 0;
            while (done < cols) {
                int j = j0 + done, within = j % stretch, len = Math.min(cols - done, stretch - within);
                // the stretch starts at tap (ky, kxs) channel cs; element t is flat f = kxs*ci + cs + t of the kernel row
                int tap = j / cig, ky = tap / g.kw(), kxs = tap % g.kw(), cs = j % cig;
                int iy = oy * g.sh() - g.ph() + ky, ix0 = ox * g.sw() - g.pw();
                if (iy < 0 || iy >= g.h()) {
                    for (int t = 0; t < len; t++) dst[o + done + t] = 0f;
                } else {
                    int lo, hi;
                    if (stretch == cig) { // one tap's channels: all in or all out
                        boolean in = ix0 + kxs >= 0 && ix0 + kxs < g.w();
                        lo = in ? 0 : len;
                        hi = len;
                    } else { // a kernel row: taps left of the image or right of it are zero
                        int f0 = kxs * ci + cs;
                        lo = Math.clamp((long) Math.max(0, -ix0) * ci - f0, 0, len);
                        hi = Math.clamp((long) Math.min(g.kw(), g.w() - ix0) * ci - f0, lo, len);
                    }
                    for (int t = 0; t < lo; t++) dst[o + done + t] = 0f;
                    int src = ((n * g.h() + iy) * g.w() + ix0 + kxs) * ci + c0 + cs + lo, t = lo;
                    for (; t + L <= hi; t += L) FloatVector.fromArray(S, xhwc, src + t - lo).intoArray(dst, o + done + t);
                    for (; t < hi; t++) dst[o + done + t] = xhwc[src + t - lo];
                    for (t = hi; t < len; t++) dst[o + done + t] = 0f;
                }
                done += len;
            }
            for (int t = cols; t < NR; t++) dst[o + t] = 0f;
            if (++ox == g.wo()) {
                ox = 0;
                if (++oy == g.ho()) { oy = 0; n++; }
            }
        }
    }
}
