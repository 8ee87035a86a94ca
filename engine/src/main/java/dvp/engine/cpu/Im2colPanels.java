package dvp.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
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
 * reads one contiguous stretch of an input row, zero-filling where it hangs over the padding. For a
 * larger width stride the group's input is first split into width phases (phase p of a row holds its
 * columns p, p + sw, p + 2sw, ...; made once per GEMM, the size of the input), so a run is again one
 * contiguous stretch, of a phase row: the stem's 7x7/2 forward spent 61% of its time in the strided
 * scalar gather this replaces.
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
    /** Width stride > 1: the group's input as [n][c][iy][phase][phaseLen] (zeros past the row's end), else null. */
    private final float[] phases;
    private final int phaseLen;
    /** Per kernel column kx, with a width stride: kx - pw = tapQ[kx]*sw + tapP[kx], 0 <= tapP < sw (no division per row). */
    private final int[] tapQ, tapP;

    /**
     * x: the segment and element offset of image 0, channel 0; c0: first channel of the group. With a
     * width stride > 1 this splits the group's input into phases in the calling thread's scratch slot
     * {@link #PHASE_SLOT}, so the panels are valid until the next convolution on this thread.
     */
    Im2colPanels(MemorySegment seg, long xOff, CpuConv.Geometry g, int c0) {
        this.seg = seg;
        this.xOff = xOff;
        this.g = g;
        this.c0 = c0;
        this.shifted = g.sh() == 1 && g.sw() == 1 && g.wo() == g.w() && NR <= 64;
        if (!shifted && g.sw() > 1) {
            int s = g.sw();
            phaseLen = (g.w() + s - 1) / s;
            phases = splitPhases(seg, xOff, g, c0, phaseLen);
            tapQ = new int[g.kw()];
            tapP = new int[g.kw()];
            for (int kx = 0; kx < g.kw(); kx++) {
                tapQ[kx] = Math.floorDiv(kx - g.pw(), s);
                tapP[kx] = Math.floorMod(kx - g.pw(), s);
            }
        } else {
            phaseLen = 0;
            phases = null;
            tapQ = tapP = null;
        }
    }

    /** Scratch slot of the phase split (CpuConv's other kernels use 0..2, Sgemm its own). */
    static final int PHASE_SLOT = 3;

    private static float[] splitPhases(MemorySegment seg, long xOff, CpuConv.Geometry g, int c0, int phaseLen) {
        int s = g.sw(), h = g.h(), w = g.w(), cig = g.cig(), rowOut = s * phaseLen;
        float[] out = Scratch.get(PHASE_SLOT, (long) g.n() * cig * h * rowOut);
        Parallel.range(g.n() * cig, 4, (lo, hi) -> {
            float[] row = new float[w];
            for (int plane = lo; plane < hi; plane++) {
                int n = plane / cig, c = plane % cig;
                long in = xOff + ((long) n * g.ci() + c0 + c) * h * w;
                for (int iy = 0; iy < h; iy++) {
                    MemorySegment.copy(seg, F, (in + (long) iy * w) * 4, row, 0, w);
                    int o = (plane * h + iy) * rowOut;
                    for (int p = 0; p < s; p++, o += phaseLen) {
                        int i = 0;
                        for (int col = p; col < w; col += s, i++) out[o + i] = row[col];
                        for (; i < phaseLen; i++) out[o + i] = 0f;
                    }
                }
            }
        });
        return out;
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
                if (g.sw() == 1) copyClipped(imageBase + ((long) (c0 + c) * g.h() + iy) * g.w(), ox - g.pw() + kx, len, dst, o);
                else copyPhase(n, c, iy, ox + tapQ[kx], tapP[kx], len, dst, o);
            }
            if (++kx == g.kw()) {
                kx = 0;
                if (++ky == g.kh()) { ky = 0; c++; }
            }
        }
    }

    /**
     * dst[o + t] = x[n, c0 + c, iy, (q + t)*sw + p] for t < len, 0 outside the row: element q + t of
     * phase p, a contiguous run (phase rows hold zeros past W).
     */
    private void copyPhase(int n, int c, int iy, int q, int p, int len, float[] dst, int o) {
        int s = g.sw();
        int lo = Math.clamp(-q, 0, len), hi = Math.clamp(phaseLen - q, lo, len);
        for (int t = 0; t < lo; t++) dst[o + t] = 0f;
        int src = ((n * g.cig() + c) * g.h() + iy) * s * phaseLen + p * phaseLen + q, t = lo;
        for (; t + L <= hi; t += L) FloatVector.fromArray(S, phases, src + t).intoArray(dst, o + t);
        for (; t < hi; t++) dst[o + t] = phases[src + t];
        for (int u = hi; u < len; u++) dst[o + u] = 0f;
    }

    /** dst[o + t] = row[ix0 + t] for t < len, 0 where ix0 + t falls outside [0, W). */
    private void copyClipped(long row, int ix0, int len, float[] dst, int o) {
        int lo = Math.clamp(-ix0, 0, len), hi = Math.clamp(g.w() - ix0, lo, len);
        for (int t = 0; t < lo; t++) dst[o + t] = 0f;
        long at = (row + ix0 + lo) * 4;
        int n = hi - lo, t = 0;
        for (; t + L <= n; t += L) FloatVector.fromMemorySegment(S, seg, at + 4L * t, NO).intoArray(dst, o + lo + t);
        for (; t < n; t++) dst[o + lo + t] = seg.get(F, at + 4L * t);
        for (int u = hi; u < len; u++) dst[o + u] = 0f;
    }

    /** The stride-1, Wo == W path: per tap one shifted contiguous load per vector, padding masked off. */
    private void packShifted(int k0, int kc, int j0, int cols, float[] dst, int off) {
        int hw = g.ho() * g.wo(), hwIn = g.h() * g.w(), wo = g.wo();
        int kh = g.kh(), kw = g.kw();
        // lanes valid for each kernel row / column, and the images the panel spans (lanes of image s: segBits[s])
        long[] rowBits = new long[kh], colBits = new long[kw], segBits = new long[NR], segSrc = new long[NR];
        int segs = 0;
        for (int t = 0; t < cols; ) {
            int j = j0 + t, n = j / hw, pos = j % hw, len = Math.min(cols - t, hw - pos);
            segBits[segs] = lanes(t, t + len);
            segSrc[segs] = xOff + ((long) n * g.ci() + c0) * hwIn + pos - t; // element of lane 0 at tap (ph, pw)
            segs++;
            // runs of lanes sharing an output row: lanes [u, u + run) are (oy, ox .. ox + run - 1)
            int oy = pos / wo, ox = pos % wo;
            for (int u = t; u < t + len; ) {
                int run = Math.min(t + len - u, wo - ox);
                for (int ky = 0; ky < kh; ky++) {
                    int iy = oy - g.ph() + ky;
                    if (iy >= 0 && iy < g.h()) rowBits[ky] |= lanes(u, u + run);
                }
                for (int kx = 0; kx < kw; kx++) { // ix = ox - pw + kx must lie in [0, W)
                    int from = Math.max(ox, g.pw() - kx), to = Math.min(ox + run, g.w() + g.pw() - kx);
                    if (from < to) colBits[kx] |= lanes(u + from - ox, u + to - ox);
                }
                u += run;
                ox = 0;
                oy++;
            }
            t += len;
        }
        long limit = seg.byteSize() - 4L * L; // a plain vector load at byte offset <= limit stays inside the segment
        // Row kk = (c, tap) - k0. Loop tap-major so each tap's lane masks are loop-invariant over channels.
        int taps = kh * kw;
        for (int tap = 0; tap < taps; tap++) {
            int ky = tap / kw, kx = tap % kw;
            int cFirst = Math.max(0, Math.ceilDiv(k0 - tap, taps)), cEnd = Math.ceilDiv(k0 + kc - tap, taps);
            if (cFirst >= cEnd) continue;
            long tapBits = rowBits[ky] & colBits[kx];
            long shift = (long) (ky - g.ph()) * g.w() + (kx - g.pw());
            int row0 = cFirst * taps + tap - k0; // packed row of channel cFirst
            if (segs == 1) {
                long src = segSrc[0] + shift;
                long first = (src + (long) cFirst * hwIn) * 4, last = (src + (long) (cEnd - 1) * hwIn) * 4 + 4L * (NR - L);
                boolean inside = first >= 0 && last <= limit;
                for (int v = 0; v < NR; v += L)
                    copyChannels(seg, (src + v) * 4, 4L * hwIn, (tapBits >>> v) & lanes(0, L), inside, cFirst, cEnd,
                            dst, off + row0 * NR + v, taps * NR);
            } else {
                for (int c = cFirst; c < cEnd; c++) {
                    int o = off + (row0 + (c - cFirst) * taps) * NR;
                    for (int v = 0; v < NR; v += L) {
                        FloatVector acc = FloatVector.zero(S);
                        for (int s = 0; s < segs; s++) {
                            long bits = ((segBits[s] & tapBits) >>> v) & lanes(0, L);
                            if (bits == 0) continue;
                            var mask = VectorMask.fromLong(S, bits);
                            long at = (segSrc[s] + shift + (long) c * hwIn + v) * 4;
                            FloatVector part = at >= 0 && at <= limit ? FloatVector.fromMemorySegment(S, seg, at, NO)
                                    : FloatVector.fromMemorySegment(S, seg, at, NO, mask);
                            acc = acc.blend(part, mask);
                        }
                        acc.intoArray(dst, o + v);
                    }
                }
            }
        }
    }

    /** Bits [from, to) set. */
    private static long lanes(int from, int to) {
        long upTo = to >= 64 ? -1L : (1L << to) - 1;
        return upTo & ~((1L << from) - 1);
    }

    /**
     * For c in [cFirst, cEnd): dst[d + (c-cFirst)*dstStep + lane] = the float at byte at + c*planeBytes + 4*lane
     * where bit `lane` of bits is set, else 0. The mask is the same for every channel, so each case is
     * a plain strided copy loop; `inside` says every full-vector load stays inside the segment.
     */
    private static void copyChannels(MemorySegment seg, long at, long planeBytes, long bits, boolean inside,
                                     int cFirst, int cEnd, float[] dst, int d, int dstStep) {
        long all = lanes(0, L);
        if (bits == 0) {
            FloatVector z = FloatVector.zero(S);
            for (int c = cFirst; c < cEnd; c++, d += dstStep) z.intoArray(dst, d);
        } else if (bits == all && inside) {
            for (int c = cFirst; c < cEnd; c++, d += dstStep) FloatVector.fromMemorySegment(S, seg, at + c * planeBytes, NO).intoArray(dst, d);
        } else if (inside) {
            VectorMask<Float> off = VectorMask.fromLong(S, ~bits & all);
            for (int c = cFirst; c < cEnd; c++, d += dstStep)
                FloatVector.fromMemorySegment(S, seg, at + c * planeBytes, NO).blend(0f, off).intoArray(dst, d);
        } else {
            VectorMask<Float> on = VectorMask.fromLong(S, bits);
            for (int c = cFirst; c < cEnd; c++, d += dstStep)
                FloatVector.fromMemorySegment(S, seg, at + c * planeBytes, NO, on).intoArray(dst, d);
        }
    }
}
