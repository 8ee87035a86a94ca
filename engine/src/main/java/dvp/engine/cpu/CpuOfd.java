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
 * <p>Determinism of the sum: squares are added into F32 lane accumulators (a run's last, partial
 * step masked) that are flushed into a double every {@link #FLUSH} vector steps and at the end of
 * each block (lanes in order), and the block totals are added in block order. Every one of these choices depends only on the element positions, never on the
 * thread count or the JIT tier.
 */
final class CpuOfd {
    private static final VectorSpecies<Float> SP = FloatVector.SPECIES_PREFERRED;
    private static final int L = SP.length();
    static final int BLOCK = 1 << 14;
    private static final int FLUSH = 16;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private CpuOfd() {}

    static void lossForward(Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor loss) {
        long n = s.numel();
        float[] m = Mem.toArray(margin);
        MemorySegment ss = Mem.seg(s), ts = Mem.seg(t);
        long sb = Mem.base(s), tb = Mem.base(t);
        int blocks = Parallel.blocks(n, BLOCK);
        double[] partial = new double[blocks];
        Parallel.range(blocks, (lo, hi) -> {
            float[] lanes = new float[L];
            for (int b = lo; b < hi; b++) {
                long from = (long) b * BLOCK, to = Math.min(n, from + BLOCK);
                partial[b] = blockSum(ss, sb, ts, tb, m, channelStride, from, to, lanes);
            }
        });
        double total = 0;
        for (double p : partial) total += p;
        Mem.seg(loss).set(Mem.F, Mem.base(loss), (float) (w * total));
    }

    private static double blockSum(MemorySegment ss, long sb, MemorySegment ts, long tb, float[] m, int cs,
                                   long from, long to, float[] lanes) {
        int channels = m.length;
        double total = 0;
        FloatVector acc = FloatVector.zero(SP);
        int steps = 0;
        long unit = from / cs;
        int c = (int) (unit % channels);
        for (long i = from; i < to; ) {
            // a run: elements that share channel c (cs > 1) or walk channels c, c+1, ... (cs == 1)
            long end = cs > 1 ? Math.min(to, (unit + 1) * cs) : Math.min(to, i + (channels - c));
            FloatVector mv = FloatVector.broadcast(SP, m[c]);
            int mo = c;
            for (; i <= end - L; i += L, mo += L) {
                if (cs == 1) mv = FloatVector.fromArray(SP, m, mo);
                FloatVector sv = FloatVector.fromMemorySegment(SP, ss, sb + 4 * i, NATIVE);
                FloatVector tp = FloatVector.fromMemorySegment(SP, ts, tb + 4 * i, NATIVE).max(mv);
                FloatVector diff = sv.sub(tp);
                acc = acc.add(diff.mul(diff).blend(0f, skipped(sv, tp)));
                if (++steps == FLUSH) {
                    total += flush(acc, lanes);
                    acc = FloatVector.zero(SP);
                    steps = 0;
                }
            }
            if (i < end) { // the run's last, partial step: the same with the lanes past its end masked
                VectorMask<Float> in = SP.indexInRange(i, end);
                if (cs == 1) mv = FloatVector.fromArray(SP, m, mo, in);
                FloatVector sv = FloatVector.fromMemorySegment(SP, ss, sb + 4 * i, NATIVE, in);
                FloatVector tp = FloatVector.fromMemorySegment(SP, ts, tb + 4 * i, NATIVE, in).max(mv);
                FloatVector diff = sv.sub(tp);
                acc = acc.add(diff.mul(diff).blend(0f, skipped(sv, tp).or(in.not())));
                if (++steps == FLUSH) {
                    total += flush(acc, lanes);
                    acc = FloatVector.zero(SP);
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
        return total + flush(acc, lanes);
    }

    /**
     * Elements without loss: s ≤ t' ≤ 0 (the complement of mask = s > t' || t' > 0). Written this
     * way round so that a NaN in s or t is <i>not</i> skipped and reaches the loss, as in PyTorch.
     */
    private static VectorMask<Float> skipped(FloatVector s, FloatVector tp) {
        return s.compare(VectorOperators.LE, tp).and(tp.compare(VectorOperators.LE, 0f));
    }

    private static double flush(FloatVector acc, float[] lanes) {
        acc.intoArray(lanes, 0);
        double s = 0;
        for (float v : lanes) s += v;
        return s;
    }

    static void lossBackward(Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor gradOut, Tensor ds) {
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
