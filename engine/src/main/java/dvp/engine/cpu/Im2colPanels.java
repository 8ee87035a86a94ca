package dvp.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The convolution's column matrix as SGEMM B panels, packed straight from an NCHW image batch, so the
 * column matrix is never materialised. Logical matrix: row k = (c, ky, kx) (c-major, the OIHW weight
 * order), column j = (n, oy, ox) over all images; element = x[n, c0 + c, oy*sh - ph + ky, ox*sw - pw + kx],
 * 0 in the padding.
 *
 * <p>Stride 1 with Wo == W (the "same" 3x3 convs that carry most of a ResNet's work): for every tap,
 * a panel row is one contiguous stretch of the input plane shifted by (ky-ph)*W + (kx-pw), so it is
 * two vector loads under a lane mask that zeroes padding taps (and splits panels that straddle two
 * images). Otherwise the panel's columns are cut into runs that share (n, oy); for stride 1 a run
 * reads one contiguous stretch of an input row, zero-filling where it hangs over the padding.
 */
final class Im2colPanels implements Sgemm.PackB {
    private static final VectorSpecies<Float> S = Sgemm.S;
    private static final int L = Sgemm.L, NR = Sgemm.NR;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    private final MemorySegment seg;
    private final long xOff;
    private final CpuConv.Geometry g;
    private final int c0;
    private final boolean shifted;

    /** x: the segment and element offset of image 0, channel 0; c0: first channel of the group. */
    Im2colPanels(MemorySegment seg, long xOff, CpuConv.Geometry g, int c0) {
        this.seg = seg;
        this.xOff = xOff;
        this.g = g;
        this.c0 = c0;
        this.shifted = g.sh() == 1 && g.sw() == 1 && g.wo() == g.w() && NR <= 64;
    }

    @Override
    public void pack(int k0, int kc, int j0, int cols, float[] dst, int off) {
        if (shifted) {
            packShifted(k0, kc, j0, cols, dst, off);
            return;
        }
        int hw = g.ho() * g.wo();
        for (int cc = cols; cc < NR; cc++)
            for (int kk = 0; kk < kc; kk++) dst[off + kk * NR + cc] = 0f;
        int done = 0;
        while (done < cols) {
            int j = j0 + done, n = j / hw, pos = j % hw, oy = pos / g.wo(), ox = pos % g.wo();
            int len = Math.min(cols - done, g.wo() - ox);
            packRun(n, oy, ox, len, k0, kc, dst, off + done);
            done += len;
        }
    }

    /** Columns (n, oy, ox .. ox+len-1) for rows k0 .. k0+kc-1 into dst[d + kk*NR + t]. */
    private void packRun(int n, int oy, int ox, int len, int k0, int kc, float[] dst, int d) {
        int taps = g.kh() * g.kw();
        int c = k0 / taps, ky = (k0 % taps) / g.kw(), kx = k0 % g.kw();
        long imageBase = xOff + (long) n * g.ci() * g.h() * g.w();
        for (int kk = 0; kk < kc; kk++) {
            int o = d + kk * NR;
            int iy = oy * g.sh() - g.ph() + ky;
            if (iy < 0 || iy >= g.h()) {
                for (int t = 0; t < len; t++) dst[o + t] = 0f;
            } else {
                long row = imageBase + ((long) (c0 + c) * g.h() + iy) * g.w();
                int ix0 = ox * g.sw() - g.pw() + kx;
                if (g.sw() == 1) copyClipped(row, ix0, len, dst, o);
                else {
                    for (int t = 0; t < len; t++) {
                        int ix = ix0 + t * g.sw();
                        dst[o + t] = ix >= 0 && ix < g.w() ? seg.get(F, (row + ix) * 4) : 0f;
                    }
                }
            }
            if (++kx == g.kw()) {
                kx = 0;
                if (++ky == g.kh()) { ky = 0; c++; }
            }
        }
    }

    /** dst[o + t] = row[ix0 + t] for t < len, 0 where ix0 + t falls outside [0, W). */
    private void copyClipped(long row, int ix0, int len, float[] dst, int o) {
        int lo = Math.clamp(-ix0, 0, len), hi = Math.clamp(g.w() - ix0, lo, len);
        for (int t = 0; t < lo; t++) dst[o + t] = 0f;
        long at = (row + ix0 + lo) * 4;
        int n = hi - lo, t = 0;
        for (; t + L <= n; t += L) FloatVector.fromMemorySegment(S, seg, at + 4L * t, NO).intoArray(dst, o + lo + t);
        if (t < n) {
            var mask = S.indexInRange(t, n);
            FloatVector.fromMemorySegment(S, seg, at + 4L * t, NO, mask).intoArray(dst, o + lo + t, mask);
        }
        for (int u = hi; u < len; u++) dst[o + u] = 0f;
    }

    /** The stride-1, Wo == W path: per tap one shifted contiguous load per vector, padding masked off. */
    private void packShifted(int k0, int kc, int j0, int cols, float[] dst, int off) {
        int hw = g.ho() * g.wo(), hwIn = g.h() * g.w();
        int kh = g.kh(), kw = g.kw();
        // lanes valid for each kernel row / column, and the (at most NR) images the panel spans
        long[] rowBits = new long[kh], colBits = new long[kw];
        long[] segBits = new long[NR];
        long[] segSrc = new long[NR]; // element index of lane 0's input position for tap (ph, pw), per image segment
        int segs = 0;
        for (int t = 0; t < cols; ) {
            int j = j0 + t, n = j / hw, pos = j % hw, len = Math.min(cols - t, hw - pos);
            segBits[segs] = len == 64 ? -1L : ((1L << len) - 1) << t;
            segSrc[segs] = xOff + ((long) n * g.ci() + c0) * hwIn + pos - t;
            segs++;
            for (int u = t; u < t + len; u++) {
                int oy = (pos + u - t) / g.wo(), ox = (pos + u - t) % g.wo();
                for (int ky = 0; ky < kh; ky++) {
                    int iy = oy - g.ph() + ky;
                    if (iy >= 0 && iy < g.h()) rowBits[ky] |= 1L << u;
                }
                for (int kx = 0; kx < kw; kx++) {
                    int ix = ox - g.pw() + kx;
                    if (ix >= 0 && ix < g.w()) colBits[kx] |= 1L << u;
                }
            }
            t += len;
        }
        long laneMask = L == 64 ? -1L : (1L << L) - 1;
        int taps = kh * kw;
        int c = k0 / taps, ky = (k0 % taps) / kw, kx = k0 % kw;
        for (int kk = 0; kk < kc; kk++) {
            long tapBits = rowBits[ky] & colBits[kx];
            long shift = (long) c * hwIn + (long) (ky - g.ph()) * g.w() + (kx - g.pw());
            int o = off + kk * NR;
            for (int v = 0; v < NR; v += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int s = 0; s < segs; s++) {
                    long bits = ((segBits[s] & tapBits) >>> v) & laneMask;
                    if (bits == 0) continue;
                    long at = (segSrc[s] + shift + v) * 4;
                    if (bits == laneMask && segs == 1) acc = FloatVector.fromMemorySegment(S, seg, at, NO);
                    else {
                        var mask = jdk.incubator.vector.VectorMask.fromLong(S, bits);
                        acc = acc.blend(FloatVector.fromMemorySegment(S, seg, at, NO, mask), mask);
                    }
                }
                acc.intoArray(dst, o + v);
            }
            if (++kx == kw) {
                kx = 0;
                if (++ky == kh) { ky = 0; c++; }
            }
        }
    }
}
