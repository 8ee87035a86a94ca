package dvp.engine.cpu;

import dvp.engine.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Batch norm over x [N, C, *spatial] with per-channel statistics, channels split over threads (each
 * statistic is summed by one thread, in a fixed order). Mean and variance are two-pass; each plane is
 * summed in float vector lanes and the per-plane sums are accumulated in double.
 */
final class CpuBatchNorm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    private CpuBatchNorm() {}

    static void trainForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                             float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        int n = x.dim(0), c = x.dim(1);
        int plane = (int) (x.numel() / ((long) n * c));
        long count = (long) n * plane;
        if (count < 2 && runningVar != null)
            throw new IllegalArgumentException("batch_norm: expected more than 1 value per channel when training, got input "
                    + dvp.engine.Shape.str(x.shape()));
        float[] gm = Mem.toArray(gamma), bt = Mem.toArray(beta);
        float[] rm = runningMean == null ? null : Mem.toArray(runningMean);
        float[] rv = runningVar == null ? null : Mem.toArray(runningVar);
        float[] sm = new float[c], si = new float[c];
        MemorySegment sx = Mem.seg(x), sy = Mem.seg(y);
        long bx = Mem.base(x), by = Mem.base(y);
        long imageBytes = 4L * c * plane, planeBytes = 4L * plane;
        Parallel.range(c, (lo, hi) -> {
            for (int ch = lo; ch < hi; ch++) {
                long first = 4L * ch * plane;
                double sum = 0;
                for (int i = 0; i < n; i++) sum += planeSum(sx, bx + first + i * imageBytes, plane);
                double mean = sum / count;
                double sq = 0;
                for (int i = 0; i < n; i++) sq += planeSquaredDeviation(sx, bx + first + i * imageBytes, plane, (float) mean);
                double var = sq / count;
                double inv = 1.0 / Math.sqrt(var + eps);
                float scale = (float) (gm[ch] * inv), shift = (float) (bt[ch] - mean * gm[ch] * inv);
                for (int i = 0; i < n; i++) planeAffine(sx, bx + first + i * imageBytes, sy, by + first + i * imageBytes, plane, scale, shift);
                sm[ch] = (float) mean;
                si[ch] = (float) inv;
                if (rm != null) rm[ch] = (float) ((1 - momentum) * rm[ch] + momentum * mean);
                if (rv != null) rv[ch] = (float) ((1 - momentum) * rv[ch] + momentum * (count > 1 ? sq / (count - 1) : var));
            }
        });
        Mem.write(sm, 0, saveMean, 0, c);
        Mem.write(si, 0, saveInvStd, 0, c);
        if (rm != null) Mem.write(rm, 0, runningMean, 0, c);
        if (rv != null) Mem.write(rv, 0, runningVar, 0, c);
    }

    /**
     * dx = gamma*invstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)), M = N*spatial, applied as
     * dx = a*dy + b*(x - mean) + c per channel (x - mean first, so a large mean cancels exactly).
     */
    static void trainBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                              Tensor dx, Tensor dgamma, Tensor dbeta) {
        int n = x.dim(0), c = x.dim(1);
        int plane = (int) (x.numel() / ((long) n * c));
        long count = (long) n * plane;
        float[] gm = Mem.toArray(gamma), sm = Mem.toArray(saveMean), si = Mem.toArray(saveInvStd);
        float[] dg = new float[c], db = new float[c];
        MemorySegment sx = Mem.seg(x), sd = Mem.seg(dy), so = Mem.seg(dx);
        long bx = Mem.base(x), bd = Mem.base(dy), bo = Mem.base(dx);
        long imageBytes = 4L * c * plane;
        Parallel.range(c, (lo, hi) -> {
            double[] sums = new double[2];
            for (int ch = lo; ch < hi; ch++) {
                long first = 4L * ch * plane;
                float mean = sm[ch], inv = si[ch];
                double sumDy = 0, sumDyXc = 0; // sum(dy), sum(dy * (x - mean))
                for (int i = 0; i < n; i++) {
                    long o = first + i * imageBytes;
                    planeDySums(sx, bx + o, sd, bd + o, plane, mean, sums);
                    sumDy += sums[0];
                    sumDyXc += sums[1];
                }
                double sumDyXhat = sumDyXc * inv;
                dg[ch] = (float) sumDyXhat;
                db[ch] = (float) sumDy;
                double k = (double) gm[ch] * inv / count;
                float a = (float) (k * count), b = (float) (-k * sumDyXhat * inv), shift = (float) (-k * sumDy);
                for (int i = 0; i < n; i++) {
                    long o = first + i * imageBytes;
                    planeBackward(sx, bx + o, sd, bd + o, so, bo + o, plane, mean, a, b, shift);
                }
            }
        });
        if (dgamma != null) Mem.write(dg, 0, dgamma, 0, c);
        if (dbeta != null) Mem.write(db, 0, dbeta, 0, c);
    }

    // The plane reductions sum in 16 fixed logical lanes (Lanes16), lane 0 first, not with
    // reduceLanes(ADD): its order is unspecified and HotSpot's intrinsic adds in another order than
    // the interpreter, so the same batch would normalise differently before and after JIT
    // compilation (which broke bit-identical resume); and a lane count of the machine's own would
    // normalise differently on AVX2 and AVX-512. Elements past the last full 16 are added in double.
    private static final VectorSpecies<Float> S16 = Lanes16.S;
    private static final int L16 = Lanes16.L, G16 = Lanes16.G;

    private static double planeSum(MemorySegment s, long at, int len) {
        FloatVector z = FloatVector.zero(S16), a0 = z, a1 = z, a2 = z, a3 = z;
        int i = 0;
        for (; i + 16 <= len; i += 16) {
            long o = at + 4L * i;
            a0 = a0.add(FloatVector.fromMemorySegment(S16, s, o, NO));
            if (G16 > 1) a1 = a1.add(FloatVector.fromMemorySegment(S16, s, o + 4L * L16, NO));
            if (G16 > 2) {
                a2 = a2.add(FloatVector.fromMemorySegment(S16, s, o + 8L * L16, NO));
                a3 = a3.add(FloatVector.fromMemorySegment(S16, s, o + 12L * L16, NO));
            }
        }
        double sum = Lanes16.inOrder(a0, a1, a2, a3);
        for (; i < len; i++) sum += s.get(Mem.F, at + 4L * i);
        return sum;
    }

    private static FloatVector squaredDeviation(MemorySegment s, long o, float mean, FloatVector acc) {
        FloatVector d = FloatVector.fromMemorySegment(S16, s, o, NO).sub(mean);
        return d.fma(d, acc);
    }

    private static double planeSquaredDeviation(MemorySegment s, long at, int len, float mean) {
        FloatVector z = FloatVector.zero(S16), a0 = z, a1 = z, a2 = z, a3 = z;
        int i = 0;
        for (; i + 16 <= len; i += 16) {
            long o = at + 4L * i;
            a0 = squaredDeviation(s, o, mean, a0);
            if (G16 > 1) a1 = squaredDeviation(s, o + 4L * L16, mean, a1);
            if (G16 > 2) {
                a2 = squaredDeviation(s, o + 8L * L16, mean, a2);
                a3 = squaredDeviation(s, o + 12L * L16, mean, a3);
            }
        }
        double sum = Lanes16.inOrder(a0, a1, a2, a3);
        for (; i < len; i++) {
            double d = s.get(Mem.F, at + 4L * i) - (double) mean;
            sum += d * d;
        }
        return sum;
    }

    private static void planeAffine(MemorySegment sx, long ax, MemorySegment sy, long ay, int len, float scale, float shift) {
        int i = 0;
        for (; i + L <= len; i += L)
            FloatVector.fromMemorySegment(S, sx, ax + 4L * i, NO).fma(scale, shift).intoMemorySegment(sy, ay + 4L * i, NO);
        for (; i < len; i++) sy.set(Mem.F, ay + 4L * i, Math.fma(sx.get(Mem.F, ax + 4L * i), scale, shift));
    }

    /** sums[0] = sum(dy), sums[1] = sum(dy * (x - mean)) over one plane (16 logical lanes, as planeSum). */
    private static void planeDySums(MemorySegment sx, long ax, MemorySegment sd, long ad, int len, float mean, double[] sums) {
        FloatVector z = FloatVector.zero(S16), s0 = z, s1 = z, s2 = z, s3 = z, t0 = z, t1 = z, t2 = z, t3 = z;
        int i = 0;
        for (; i + 16 <= len; i += 16) {
            long o = 4L * i;
            FloatVector d = FloatVector.fromMemorySegment(S16, sd, ad + o, NO);
            s0 = s0.add(d);
            t0 = FloatVector.fromMemorySegment(S16, sx, ax + o, NO).sub(mean).fma(d, t0);
            if (G16 > 1) {
                d = FloatVector.fromMemorySegment(S16, sd, ad + o + 4L * L16, NO);
                s1 = s1.add(d);
                t1 = FloatVector.fromMemorySegment(S16, sx, ax + o + 4L * L16, NO).sub(mean).fma(d, t1);
            }
            if (G16 > 2) {
                d = FloatVector.fromMemorySegment(S16, sd, ad + o + 8L * L16, NO);
                s2 = s2.add(d);
                t2 = FloatVector.fromMemorySegment(S16, sx, ax + o + 8L * L16, NO).sub(mean).fma(d, t2);
                d = FloatVector.fromMemorySegment(S16, sd, ad + o + 12L * L16, NO);
                s3 = s3.add(d);
                t3 = FloatVector.fromMemorySegment(S16, sx, ax + o + 12L * L16, NO).sub(mean).fma(d, t3);
            }
        }
        double a = Lanes16.inOrder(s0, s1, s2, s3), b = Lanes16.inOrder(t0, t1, t2, t3);
        for (; i < len; i++) {
            double d = sd.get(Mem.F, ad + 4L * i);
            a += d;
            b += d * (sx.get(Mem.F, ax + 4L * i) - (double) mean);
        }
        sums[0] = a;
        sums[1] = b;
    }

    /** dx = a*dy + b*(x - mean) + shift over one plane. */
    private static void planeBackward(MemorySegment sx, long ax, MemorySegment sd, long ad, MemorySegment so, long ao, int len,
                                      float mean, float a, float b, float shift) {
        int i = 0;
        for (; i + L <= len; i += L) {
            FloatVector xc = FloatVector.fromMemorySegment(S, sx, ax + 4L * i, NO).sub(mean);
            FloatVector.fromMemorySegment(S, sd, ad + 4L * i, NO).fma(FloatVector.broadcast(S, a), xc.fma(b, shift)).intoMemorySegment(so, ao + 4L * i, NO);
        }
        for (; i < len; i++)
            so.set(Mem.F, ao + 4L * i, Math.fma(sd.get(Mem.F, ad + 4L * i), a, Math.fma(sx.get(Mem.F, ax + 4L * i) - mean, b, shift)));
    }
}
