package dvp.engine.cpu;

import dvp.engine.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** Elementwise kernels over contiguous F32 tensors; outputs may alias inputs (read-before-write per lane). */
final class CpuElementwise {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final int GRAIN = 1 << 14;

    private CpuElementwise() {}

    static void axpby(float alpha, Tensor a, float beta, Tensor b, Tensor out) {
        MemorySegment sa = Mem.seg(a), sb = Mem.seg(b), so = Mem.seg(out);
        long ba = Mem.base(a), bb = Mem.base(b), bo = Mem.base(out);
        int n = (int) out.numel();
        Parallel.range(n, GRAIN, (lo, hi) -> {
            int i = lo;
            for (; i + S.length() <= hi; i += S.length()) {
                FloatVector va = FloatVector.fromMemorySegment(S, sa, ba + 4L * i, NO);
                FloatVector vb = FloatVector.fromMemorySegment(S, sb, bb + 4L * i, NO);
                va.mul(alpha).add(vb.mul(beta)).intoMemorySegment(so, bo + 4L * i, NO);
            }
            for (; i < hi; i++)
                so.set(Mem.F, bo + 4L * i, alpha * sa.get(Mem.F, ba + 4L * i) + beta * sb.get(Mem.F, bb + 4L * i));
        });
    }

    static void mul(Tensor a, Tensor b, Tensor out) {
        MemorySegment sa = Mem.seg(a), sb = Mem.seg(b), so = Mem.seg(out);
        long ba = Mem.base(a), bb = Mem.base(b), bo = Mem.base(out);
        int n = (int) out.numel();
        Parallel.range(n, GRAIN, (lo, hi) -> {
            int i = lo;
            for (; i + S.length() <= hi; i += S.length()) {
                FloatVector va = FloatVector.fromMemorySegment(S, sa, ba + 4L * i, NO);
                FloatVector vb = FloatVector.fromMemorySegment(S, sb, bb + 4L * i, NO);
                va.mul(vb).intoMemorySegment(so, bo + 4L * i, NO);
            }
            for (; i < hi; i++) so.set(Mem.F, bo + 4L * i, sa.get(Mem.F, ba + 4L * i) * sb.get(Mem.F, bb + 4L * i));
        });
    }

    static void scaleShift(Tensor a, float s, float t, Tensor out) {
        MemorySegment sa = Mem.seg(a), so = Mem.seg(out);
        long ba = Mem.base(a), bo = Mem.base(out);
        int n = (int) out.numel();
        Parallel.range(n, GRAIN, (lo, hi) -> {
            int i = lo;
            for (; i + S.length() <= hi; i += S.length())
                FloatVector.fromMemorySegment(S, sa, ba + 4L * i, NO).mul(s).add(t).intoMemorySegment(so, bo + 4L * i, NO);
            for (; i < hi; i++) so.set(Mem.F, bo + 4L * i, sa.get(Mem.F, ba + 4L * i) * s + t);
        });
    }

    static void rsqrtEps(Tensor x, float eps, Tensor out) {
        MemorySegment sx = Mem.seg(x), so = Mem.seg(out);
        long bx = Mem.base(x), bo = Mem.base(out);
        for (long i = 0; i < out.numel(); i++) so.set(Mem.F, bo + 4 * i, (float) (1.0 / Math.sqrt((double) sx.get(Mem.F, bx + 4 * i) + eps)));
    }

    static void relu(Tensor x, Tensor out) {
        MemorySegment sx = Mem.seg(x), so = Mem.seg(out);
        long bx = Mem.base(x), bo = Mem.base(out);
        int n = (int) out.numel();
        Parallel.range(n, GRAIN, (lo, hi) -> {
            int i = lo;
            for (; i + S.length() <= hi; i += S.length())
                FloatVector.fromMemorySegment(S, sx, bx + 4L * i, NO).max(0f).intoMemorySegment(so, bo + 4L * i, NO);
            for (; i < hi; i++) so.set(Mem.F, bo + 4L * i, Math.max(sx.get(Mem.F, bx + 4L * i), 0f));
        });
    }

    static void reluBackward(Tensor y, Tensor dy, Tensor dx) {
        MemorySegment sy = Mem.seg(y), sd = Mem.seg(dy), so = Mem.seg(dx);
        long by = Mem.base(y), bd = Mem.base(dy), bo = Mem.base(dx);
        int n = (int) dx.numel();
        Parallel.range(n, GRAIN, (lo, hi) -> {
            int i = lo;
            for (; i + S.length() <= hi; i += S.length()) {
                FloatVector vy = FloatVector.fromMemorySegment(S, sy, by + 4L * i, NO);
                FloatVector vd = FloatVector.fromMemorySegment(S, sd, bd + 4L * i, NO);
                vd.blend(0f, vy.compare(VectorOperators.LE, 0f)).intoMemorySegment(so, bo + 4L * i, NO);
            }
            for (; i < hi; i++) so.set(Mem.F, bo + 4L * i, sy.get(Mem.F, by + 4L * i) > 0 ? sd.get(Mem.F, bd + 4L * i) : 0f);
        });
    }

    static void addRowVector(Tensor x, Tensor v, Tensor out) {
        int rows = x.dim(0), cols = (int) (x.numel() / rows);
        float[] vec = Mem.toArray(v);
        MemorySegment sx = Mem.seg(x), so = Mem.seg(out);
        long bx = Mem.base(x), bo = Mem.base(out);
        Parallel.range(rows, Math.max(1, GRAIN / Math.max(1, cols)), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                long row = (long) r * cols;
                for (int c = 0; c < cols; c++)
                    so.set(Mem.F, bo + 4 * (row + c), sx.get(Mem.F, bx + 4 * (row + c)) + vec[c]);
            }
        });
    }

    /** out[n,c,s] = x[n,c,s]*scale[c] + shift[c]. */
    static void channelAffine(Tensor x, Tensor scale, Tensor shift, Tensor out) {
        int n = x.dim(0), c = x.dim(1);
        int plane = (int) (x.numel() / ((long) n * c));
        float[] sc = Mem.toArray(scale);
        float[] sh = shift == null ? new float[c] : Mem.toArray(shift);
        MemorySegment sx = Mem.seg(x), so = Mem.seg(out);
        long bx = Mem.base(x), bo = Mem.base(out);
        Parallel.range(n * c, Math.max(1, GRAIN / Math.max(1, plane)), (lo, hi) -> {
            for (int p = lo; p < hi; p++) {
                float a = sc[p % c], b = sh[p % c];
                long o = (long) p * plane;
                int i = 0;
                for (; i + S.length() <= plane; i += S.length())
                    FloatVector.fromMemorySegment(S, sx, bx + 4 * (o + i), NO).fma(a, b).intoMemorySegment(so, bo + 4 * (o + i), NO);
                for (; i < plane; i++) so.set(Mem.F, bo + 4 * (o + i), Math.fma(sx.get(Mem.F, bx + 4 * (o + i)), a, b));
            }
        });
    }
}
