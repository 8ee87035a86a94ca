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
        // the panel's column runs, the same for every row: start, length, kernel row, first tap, first channel
        int[] rStart = new int[NR], rLen = new int[NR], rKy = new int[NR], rKx = new int[NR], rC = new int[NR];
        int runs = 0;
        for (int done = 0; done < cols; runs++) {
            int j = j0 + done, len = Math.min(cols - done, stretch - j % stretch), tap = j / cig;
            rStart[runs] = done;
            rLen[runs] = len;
            rKy[runs] = tap / g.kw();
            rKx[runs] = tap % g.kw();
            rC[runs] = j % cig;
            done += len;
        }
        int n = k0 / hw, pos = k0 % hw, oy = pos / g.wo(), ox = pos % g.wo();
        if (runs == 1 && cols == NR && rC[0] + NR <= cig) {
            packOneTap(kc, n, oy, ox, rKy[0], rKx[0], rC[0], dst, off);
            return;
        }
        for (int kk = 0; kk < kc; kk++) {
            int o = off + kk * NR;
            int ix0 = ox * g.sw() - g.pw();
            for (int r = 0; r < runs; r++) {
                int d = o + rStart[r], len = rLen[r], kxs = rKx[r], cs = rC[r];
                int iy = oy * g.sh() - g.ph() + rKy[r];
                int lo, hi;
                if (iy < 0 || iy >= g.h()) {
                    lo = hi = len;
                } else if (stretch == cig) { // one tap's channels: all in or all out
                    lo = ix0 + kxs >= 0 && ix0 + kxs < g.w() ? 0 : len;
                    hi = len;
                } else { // element t is flat f0 + t of a kernel row; taps left or right of the image are zero
                    int f0 = kxs * ci + cs;
                    lo = Math.clamp((long) Math.max(0, -ix0) * ci - f0, 0, len);
                    hi = Math.clamp((long) Math.min(g.kw(), g.w() - ix0) * ci - f0, lo, len);
                }
                for (int t = 0; t < lo; t++) dst[d + t] = 0f;
                if (lo < hi) {
                    int src = ((n * g.h() + iy) * g.w() + ix0 + kxs) * ci + c0 + cs, t = lo;
                    for (; t + L <= hi; t += L) FloatVector.fromArray(S, xhwc, src + t).intoArray(dst, d + t);
                    for (; t < hi; t++) dst[d + t] = xhwc[src + t];
                }
                for (int t = hi; t < len; t++) dst[d + t] = 0f;
            }
            for (int t = cols; t < NR; t++) dst[o + t] = 0f;
            if (++ox == g.wo()) {
                ox = 0;
                if (++oy == g.ho()) { oy = 0; n++; }
            }
        }
    }

    /**
     * The common case (a group's channels a multiple of NR): the whole panel is NR channels
     * [cs, cs+NR) of one tap (ky, kx), so each row is one contiguous NR-float copy, or zeros where the
     * tap falls into the padding. Rows start at (n, oy, ox).
     */
    private void packOneTap(int kc, int n, int oy, int ox, int ky, int kx, int cs, float[] dst, int off) {
        int ci = g.ci(), h = g.h(), w = g.w(), wo = g.wo(), ho = g.ho(), sh = g.sh(), sw = g.sw();
        int chan = c0 + cs;
        FloatVector zero = FloatVector.zero(S);
        for (int kk = 0, d = off; kk < kc; kk++, d += NR) {
            int iy = oy * sh - g.ph() + ky, ix = ox * sw - g.pw() + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                int src = ((n * h + iy) * w + ix) * ci + chan;
                for (int t = 0; t < NR; t += L) FloatVector.fromArray(S, xhwc, src + t).intoArray(dst, d + t);
            } else {
                for (int t = 0; t < NR; t += L) zero.intoArray(dst, d + t);
            }
            if (++ox == wo) {
                ox = 0;
                if (++oy == ho) { oy = 0; n++; }
            }
        }
    }
}
