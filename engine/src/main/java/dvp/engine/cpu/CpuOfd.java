package dvp.engine.cpu;

import dvp.engine.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * OFD partial-L2 loss and its gradient (see {@link dvp.engine.spi.Backend#ofdLossForward}), one
 * streaming pass each. Elements are visited in memory order in fixed blocks of {@link #BLOCK};
 * inside a block they come in runs that share a channel (channelStride > 1, e.g. NCHW: the
 * margin is one broadcast value) or runs of consecutive channels (channelStride == 1, NHWC: the
 * margins are a contiguous slice of the margin vector).
 *
 * <p>Determinism of the sum: squares are added into 16 F32 logical lane accumulators ({@link Lanes16}:
 * element i + j of a 16-element step in lane j; a run's last, partial step padded with zeros) that are flushed into
 * a double every {@link #FLUSH} steps and at the end of each block (lanes 0 to 15 in order), and the
 * block totals are added in block order. Every one of these choices depends only on the element
 * positions, never on the thread count, the vector width or the JIT tier (16-lane AVX-512 groups the
 * squares exactly as before the logical lanes; 4- and 8-lane machines now group them the same way).
 */
final class CpuOfd {
    private static final VectorSpecies<Float> SP = FloatVector.SPECIES_PREFERRED;
    private static final int L = SP.length();
    /** The loss sum's species: 16 fixed logical lanes on every vector width (see {@link Lanes16}). */
    private static final VectorSpecies<Float> S16 = Lanes16.S;
    private static final int L16 = Lanes16.L, G16 = Lanes16.G;
    static final int BLOCK = 1 << 14;
    private static final int FLUSH = 16;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private CpuOfd() {}

    static void lossForward(Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor loss) {
        // the fp32 reference: bf16 features are checked against it on their values widened to F32
        F32Only.check("ofdLossForward", s, t, margin, loss);
        Mem.seg(loss).set(Mem.F, Mem.base(loss), (float) (w * sumOfSquares(s, t, margin, channelStride)));
    }

    /** The loss before its weight and its rounding to float: the block totals (doubles), in block order. */
    static double sumOfSquares(Tensor s, Tensor t, Tensor margin, int channelStride) {
        long n = s.numel();
        float[] m = Mem.toArray(margin);
        MemorySegment ss = Mem.seg(s), ts = Mem.seg(t);
        long sb = Mem.base(s), tb = Mem.base(t);
        int blocks = Parallel.blocks(n, BLOCK);
        double[] partial = new double[blocks];
        Parallel.range(blocks, (lo, hi) -> {
            float[] lanes = new float[L16];
            for (int b = lo; b < hi; b++) {
                long from = (long) b * BLOCK, to = Math.min(n, from + BLOCK);
                partial[b] = blockSum(ss, sb, ts, tb, m, channelStride, from, to, lanes);
            }
        });
        double total = 0;
        for (double p : partial) total += p;
        return total;
    }

    private static double blockSum(MemorySegment ss, long sb, MemorySegment ts, long tb, float[] m, int cs,
                                   long from, long to, float[] lanes) {
        int channels = m.length;
        double total = 0;
        FloatVector zero = FloatVector.zero(S16), a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        float[] part = new float[16];
        int steps = 0;
        long unit = from / cs;
        int c = (int) (unit % channels);
        for (long i = from; i < to; ) {
            // a run: elements that share channel c (cs > 1) or walk channels c, c+1, ... (cs == 1)
            long end = cs > 1 ? Math.min(to, (unit + 1) * cs) : Math.min(to, i + (channels - c));
            float mc = m[c];
            // steps of 16 logical lanes (element i + j in lane j; G16 vectors of L16 lanes); the run's last,
            // partial step is computed element by element and padded with zeros
            for (int mo = c; i < end; i += 16, mo += 16) {
                if (i + 16 <= end) {
                    a0 = a0.add(terms(ss, sb, ts, tb, m, cs, mc, mo, i));
                    if (G16 > 1) a1 = a1.add(terms(ss, sb, ts, tb, m, cs, mc, mo + L16, i + L16));
                    if (G16 > 2) {
                        a2 = a2.add(terms(ss, sb, ts, tb, m, cs, mc, mo + 2 * L16, i + 2 * L16));
                        a3 = a3.add(terms(ss, sb, ts, tb, m, cs, mc, mo + 3 * L16, i + 3 * L16));
                    }
                } else {
                    partialTerms(ss, sb, ts, tb, m, cs, mc, mo, i, end, part);
                    a0 = a0.add(FloatVector.fromArray(S16, part, 0));
                    if (G16 > 1) a1 = a1.add(FloatVector.fromArray(S16, part, L16));
                    if (G16 > 2) {
                        a2 = a2.add(FloatVector.fromArray(S16, part, 2 * L16));
                        a3 = a3.add(FloatVector.fromArray(S16, part, 3 * L16));
                    }
                }
                if (++steps == FLUSH) {
                    total += flush(a0, a1, a2, a3, lanes);
                    a0 = a1 = a2 = a3 = zero;
                    steps = 0;
                }
            }
            i = end;
            if (cs > 1) {
                unit++;
                c = c + 1 == channels ? 0 : c + 1;
            } else {
                c = 0;
            }
        }
        return total + flush(a0, a1, a2, a3, lanes);
    }

    /**
     * The loss terms (s - t')^2 of the whole vector of elements [i, i + L16), 0 for elements without
     * loss; the margin is mc (cs > 1) or m[mo ..] (cs == 1, channels-last). Kept small and branch-free
     * so C2 inlines it: a vector returned from a call that is not inlined is boxed.
     */
    private static FloatVector terms(MemorySegment ss, long sb, MemorySegment ts, long tb, float[] m, int cs, float mc, int mo, long i) {
        FloatVector mv = cs == 1 ? FloatVector.fromArray(S16, m, mo) : FloatVector.broadcast(S16, mc);
        FloatVector sv = FloatVector.fromMemorySegment(S16, ss, sb + 4 * i, NATIVE);
        FloatVector tp = FloatVector.fromMemorySegment(S16, ts, tb + 4 * i, NATIVE).max(mv);
        FloatVector diff = sv.sub(tp);
        return diff.mul(diff).blend(0f, skipped(sv, tp));
    }

    /**
     * A run's last, partial step: out[j] = the loss term of element i + j for i + j < end, else 0, each
     * computed as the vector path does (max, then the square, 0 where s <= t' <= 0; a NaN is kept).
     */
    private static void partialTerms(MemorySegment ss, long sb, MemorySegment ts, long tb, float[] m, int cs, float mc, int mo,
                                     long i, long end, float[] out) {
        for (int j = 0; j < 16; j++) {
            long e = i + j;
            if (e >= end) {
                out[j] = 0f;
                continue;
            }
            float sv = ss.get(Mem.F, sb + 4 * e), tp = Math.max(ts.get(Mem.F, tb + 4 * e), cs == 1 ? m[mo + j] : mc);
            float diff = sv - tp;
            out[j] = sv <= tp && tp <= 0f ? 0f : diff * diff;
        }
    }

    /**
     * Elements without loss: s ≤ t' ≤ 0 (the complement of mask = s > t' || t' > 0). Written this
     * way round so that a NaN in s or t is <i>not</i> skipped and reaches the loss, as in PyTorch.
     */
    private static VectorMask<Float> skipped(FloatVector s, FloatVector tp) {
        return s.compare(VectorOperators.LE, tp).and(tp.compare(VectorOperators.LE, 0f));
    }

    /** Logical lanes 0 .. 15 (those of a0, then a1, a2, a3 as far as G16 needs them) added in double, in order. */
    private static double flush(FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3, float[] lanes) {
        double s = 0;
        a0.intoArray(lanes, 0);
        for (int l = 0; l < L16; l++) s += lanes[l];
        if (G16 > 1) {
            a1.intoArray(lanes, 0);
            for (int l = 0; l < L16; l++) s += lanes[l];
        }
        if (G16 > 2) {
            a2.intoArray(lanes, 0);
            for (int l = 0; l < L16; l++) s += lanes[l];
            a3.intoArray(lanes, 0);
            for (int l = 0; l < L16; l++) s += lanes[l];
        }
        return s;
    }

    static void lossBackward(Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor gradOut, Tensor ds) {
        F32Only.check("ofdLossBackward", s, t, margin, gradOut, ds);
        long n = s.numel();
        float[] m = Mem.toArray(margin);
        float factor = 2f * w * Mem.getF(gradOut, 0);
        MemorySegment ss = Mem.seg(s), ts = Mem.seg(t), gs = Mem.seg(ds);
        long sb = Mem.base(s), tb = Mem.base(t), gb = Mem.base(ds);
        Parallel.range(Parallel.blocks(n, BLOCK), (lo, hi) -> {
            for (int b = lo; b < hi; b++) {
                long from = (long) b * BLOCK;
                blockGrad(ss, sb, ts, tb, gs, gb, m, channelStride, factor, from, Math.min(n, from + BLOCK));
            }
        });
    }

    /** ds = factor·(s − t') where the element has loss, else 0, over [from, to) (runs as in {@link #blockSum}). */
    private static void blockGrad(MemorySegment ss, long sb, MemorySegment ts, long tb, MemorySegment gs, long gb,
                                  float[] m, int cs, float factor, long from, long to) {
        int channels = m.length;
        FloatVector f = FloatVector.broadcast(SP, factor);
        long unit = from / cs;
        int c = (int) (unit % channels);
        for (long i = from; i < to; ) {
            long end = cs > 1 ? Math.min(to, (unit + 1) * cs) : Math.min(to, i + (channels - c));
            FloatVector mv = FloatVector.broadcast(SP, m[c]);
            int mo = c;
            for (; i <= end - L; i += L, mo += L) {
                if (cs == 1) mv = FloatVector.fromArray(SP, m, mo);
                FloatVector sv = FloatVector.fromMemorySegment(SP, ss, sb + 4 * i, NATIVE);
                FloatVector tp = FloatVector.fromMemorySegment(SP, ts, tb + 4 * i, NATIVE).max(mv);
                sv.sub(tp).mul(f).blend(0f, skipped(sv, tp)).intoMemorySegment(gs, gb + 4 * i, NATIVE);
            }
            if (i < end) {
                VectorMask<Float> in = SP.indexInRange(i, end);
                if (cs == 1) mv = FloatVector.fromArray(SP, m, mo, in);
                FloatVector sv = FloatVector.fromMemorySegment(SP, ss, sb + 4 * i, NATIVE, in);
                FloatVector tp = FloatVector.fromMemorySegment(SP, ts, tb + 4 * i, NATIVE, in).max(mv);
                sv.sub(tp).mul(f).blend(0f, skipped(sv, tp)).intoMemorySegment(gs, gb + 4 * i, NATIVE, in);
            }
            i = end;
            if (cs > 1) {
                unit++;
                c = c + 1 == channels ? 0 : c + 1;
            } else {
                c = 0;
            }
        }
    }
}
