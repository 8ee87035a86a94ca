package dvp.engine.cpu;

import dvp.engine.Tensor;
import dvp.engine.spi.PoolSpec;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/** Max pooling (first maximum in window scan order wins, as PyTorch's CPU kernel) and global average pooling. */
final class CpuPool {
    private CpuPool() {}

    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, FS.vectorShape());
    private static final int L = FS.length();

    /**
     * Separable scan: a horizontal pass folds each input row's window columns (left to right), then a
     * vertical pass folds the row results of each window (top to bottom). The fold "take v when
     * v > best or v is NaN" gives the same element whether applied to the window in row-major scan
     * order or to its rows' results in row order (no NaN: the first maximum; a NaN: the last NaN), so
     * values and argmax are bit-identical to a plain window scan (the first maximum wins, as in
     * PyTorch). Every window holds at least one real element (pad <= kernel / 2).
     *
     * <p>Both passes run on float lanes with blends (random data makes the "take" branch
     * unpredictable, which is what made the scalar scan slow). Strided windows read their taps from
     * the row split into {@code stride} phases (phase r holds columns r, r + s, r + 2s, ...), so every
     * tap is a contiguous load. A final partial chunk is redone as a full chunk overlapping the previous
     * one (same inputs, same results); windows that touch the padding, and rows narrower than a vector,
     * take the scalar fold.
     */
    static void maxForward(Tensor x, Tensor y, Tensor argmax, PoolSpec p) {
        int planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), ho = y.dim(2), wo = y.dim(3);
        int k = p.kernel(), s = p.stride(), pad = p.pad();
        // interior outputs [oxA, oxB): every tap inside the row
        int oxA = Math.min(wo, (pad + s - 1) / s), oxB = Math.max(oxA, Math.min(wo, Math.floorDiv(w + pad - k, s) + 1));
        boolean rowVec = oxB - oxA >= L, colVec = wo >= L;
        int pw = (w + s - 1) / s; // phase length
        int[] tapOff = new int[k]; // tap t of output ox sits at phases[tapOff[t] + ox]
        for (int t = 0; t < k; t++) tapOff[t] = Math.floorMod(t - pad, s) * pw + Math.floorDiv(t - pad, s);
        int[] laneCol = new int[L]; // lane * stride: a chunk's first-tap columns relative to its first
        for (int i = 0; i < L; i++) laneCol[i] = i * s;
        MemorySegment sx = Mem.seg(x), sy = Mem.seg(y), sa = Mem.seg(argmax);
        long bx = Mem.base(x), by = Mem.base(y), ba = Mem.base(argmax);
        Parallel.range(planes, (lo, hi) -> {
            float[] in = new float[h * w], out = new float[ho * wo], rowMax = new float[h * wo], phases = new float[s * pw];
            int[] arg = new int[ho * wo], rowArg = new int[h * wo]; // indices into the plane (iy * w + ix)
            IntVector lane = IntVector.fromArray(IS, laneCol, 0);
            for (int pl = lo; pl < hi; pl++) {
                MemorySegment.copy(sx, Mem.F, bx + 4L * pl * h * w, in, 0, in.length);
                for (int iy = 0; iy < h; iy++) {
                    int row = iy * w, r = iy * wo;
                    if (rowVec) {
                        for (int ph = 0; ph < s; ph++)
                            for (int i = ph, j = ph * pw; i < w; i += s, j++) phases[j] = in[row + i];
                        for (int c = oxA; c < oxB; c += L) {
                            int c0 = Math.min(c, oxB - L);
                            IntVector first = lane.add(row + c0 * s - pad), at = first;
                            FloatVector best = FloatVector.fromArray(FS, phases, tapOff[0] + c0);
                            for (int t = 1; t < k; t++) {
                                FloatVector v = FloatVector.fromArray(FS, phases, tapOff[t] + c0);
                                VectorMask<Float> take = v.compare(VectorOperators.GT, best).or(v.test(VectorOperators.IS_NAN));
                                best = best.blend(v, take);
                                at = at.blend(first.add(t), take.cast(IS));
                            }
                            best.intoArray(rowMax, r + c0);
                            at.intoArray(rowArg, r + c0);
                        }
                        for (int ox = 0; ox < oxA; ox++) foldRow(in, row, ox, s, pad, k, w, rowMax, rowArg, r);
                        for (int ox = oxB; ox < wo; ox++) foldRow(in, row, ox, s, pad, k, w, rowMax, rowArg, r);
                    } else {
                        for (int ox = 0; ox < wo; ox++) foldRow(in, row, ox, s, pad, k, w, rowMax, rowArg, r);
                    }
                }
                for (int oy = 0; oy < ho; oy++) {
                    int yLo = Math.max(0, oy * s - pad), yHi = Math.min(h, oy * s - pad + k), o = oy * wo;
                    if (colVec) {
                        for (int c = 0; c < wo; c += L) {
                            int c0 = Math.min(c, wo - L);
                            FloatVector best = FloatVector.fromArray(FS, rowMax, yLo * wo + c0);
                            IntVector at = IntVector.fromArray(IS, rowArg, yLo * wo + c0);
                            for (int iy = yLo + 1; iy < yHi; iy++) {
                                FloatVector v = FloatVector.fromArray(FS, rowMax, iy * wo + c0);
                                VectorMask<Float> take = v.compare(VectorOperators.GT, best).or(v.test(VectorOperators.IS_NAN));
                                best = best.blend(v, take);
                                at = at.blend(IntVector.fromArray(IS, rowArg, iy * wo + c0), take.cast(IS));
                            }
                            best.intoArray(out, o + c0);
                            at.intoArray(arg, o + c0);
                        }
                    } else {
                        System.arraycopy(rowMax, yLo * wo, out, o, wo);
                        System.arraycopy(rowArg, yLo * wo, arg, o, wo);
                        for (int iy = yLo + 1; iy < yHi; iy++) {
                            int r = iy * wo;
                            for (int ox = 0; ox < wo; ox++) {
                                float v = rowMax[r + ox];
                                if (v > out[o + ox] || v != v) {
                                    out[o + ox] = v;
                                    arg[o + ox] = rowArg[r + ox];
                                }
                            }
                        }
                    }
                }
                MemorySegment.copy(out, 0, sy, Mem.F, by + 4L * pl * ho * wo, out.length);
                MemorySegment.copy(arg, 0, sa, Mem.I, ba + 4L * pl * ho * wo, arg.length);
            }
        });
    }

    /** Scalar fold of output column ox's window within one input row (starting at in[row]). */
    private static void foldRow(float[] in, int row, int ox, int s, int pad, int k, int w, float[] rowMax, int[] rowArg, int r) {
        int at = row + Math.max(0, ox * s - pad), end = row + Math.min(w, ox * s - pad + k);
        float best = in[at];
        for (int i = at + 1; i < end; i++) {
            float v = in[i];
            if (v > best || v != v) { // PyTorch: a NaN wins (the last one in scan order)
                best = v;
                at = i;
            }
        }
        rowMax[r + ox] = best;
        rowArg[r + ox] = at;
    }

    static void maxBackward(Tensor dy, Tensor argmax, Tensor dx) {
        int planes = dx.dim(0) * dx.dim(1), hw = dx.dim(2) * dx.dim(3), ohw = dy.dim(2) * dy.dim(3);
        MemorySegment sd = Mem.seg(dy), sa = Mem.seg(argmax), so = Mem.seg(dx);
        long bd = Mem.base(dy), ba = Mem.base(argmax), bo = Mem.base(dx);
        Parallel.range(planes, (lo, hi) -> {
            float[] grad = new float[ohw], out = new float[hw];
            int[] arg = new int[ohw];
            for (int pl = lo; pl < hi; pl++) {
                MemorySegment.copy(sd, Mem.F, bd + 4L * pl * ohw, grad, 0, ohw);
                MemorySegment.copy(sa, Mem.I, ba + 4L * pl * ohw, arg, 0, ohw);
                java.util.Arrays.fill(out, 0f);
                for (int i = 0; i < ohw; i++) out[arg[i]] += grad[i];
                MemorySegment.copy(out, 0, so, Mem.F, bo + 4L * pl * hw, hw);
            }
        });
    }

    static void globalAvgForward(Tensor x, Tensor y) {
        int planes = x.dim(0) * x.dim(1);
        long hw = x.numel() / planes;
        MemorySegment sx = Mem.seg(x), sy = Mem.seg(y);
        long bx = Mem.base(x), by = Mem.base(y);
        Parallel.range(planes, 16, (lo, hi) -> {
            for (int pl = lo; pl < hi; pl++) {
                double acc = 0;
                long o = bx + 4 * pl * hw;
                for (long j = 0; j < hw; j++) acc += sx.get(Mem.F, o + 4 * j);
                sy.set(Mem.F, by + 4L * pl, (float) (acc / hw));
            }
        });
    }

    static void globalAvgBackward(Tensor dy, Tensor dx) {
        int planes = dx.dim(0) * dx.dim(1);
        long hw = dx.numel() / planes;
        MemorySegment sd = Mem.seg(dy), so = Mem.seg(dx);
        long bd = Mem.base(dy), bo = Mem.base(dx);
        Parallel.range(planes, 16, (lo, hi) -> {
            for (int pl = lo; pl < hi; pl++) {
                float v = sd.get(Mem.F, bd + 4L * pl) / hw;
                long o = bo + 4 * pl * hw;
                for (long j = 0; j < hw; j++) so.set(Mem.F, o + 4 * j, v);
            }
        });
    }
}
