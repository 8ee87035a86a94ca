package dvp.engine.cpu;

import dvp.engine.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * Batch norm over x [N, C, *spatial] with per-channel statistics, one channel per task (so each
 * statistic is summed by one thread in a fixed order). Mean and variance are two-pass in double.
 */
final class CpuBatchNorm {
    private CpuBatchNorm() {}

    static void trainForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                             float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        int n = x.dim(0), c = x.dim(1);
        long plane = x.numel() / ((long) n * c);
        long count = n * plane;
        if (count < 2 && runningVar != null)
            throw new IllegalArgumentException("batch_norm: expected more than 1 value per channel when training, got input "
                    + dvp.engine.Shape.str(x.shape()));
        float[] gm = Mem.toArray(gamma), bt = Mem.toArray(beta);
        float[] rm = runningMean == null ? null : Mem.toArray(runningMean);
        float[] rv = runningVar == null ? null : Mem.toArray(runningVar);
        float[] sm = new float[c], si = new float[c];
        MemorySegment sx = Mem.seg(x), sy = Mem.seg(y);
        long bx = Mem.base(x), by = Mem.base(y);
        Parallel.range(c, (lo, hi) -> {
            for (int ch = lo; ch < hi; ch++) {
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    long o = bx + 4 * (((long) i * c + ch) * plane);
                    for (long j = 0; j < plane; j++) sum += sx.get(Mem.F, o + 4 * j);
                }
                double mean = sum / count, sq = 0;
                for (int i = 0; i < n; i++) {
                    long o = bx + 4 * (((long) i * c + ch) * plane);
                    for (long j = 0; j < plane; j++) {
                        double d = sx.get(Mem.F, o + 4 * j) - mean;
                        sq += d * d;
                    }
                }
                double var = sq / count;
                double inv = 1.0 / Math.sqrt(var + eps);
                float scale = (float) (gm[ch] * inv), shift = (float) (bt[ch] - mean * gm[ch] * inv);
                for (int i = 0; i < n; i++) {
                    long oi = 4 * (((long) i * c + ch) * plane);
                    for (long j = 0; j < plane; j++) sy.set(Mem.F, by + oi + 4 * j, sx.get(Mem.F, bx + oi + 4 * j) * scale + shift);
                }
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

    /** dx = gamma*invstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)), M = N*spatial. */
    static void trainBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                              Tensor dx, Tensor dgamma, Tensor dbeta) {
        int n = x.dim(0), c = x.dim(1);
        long plane = x.numel() / ((long) n * c);
        long count = n * plane;
        float[] gm = Mem.toArray(gamma), sm = Mem.toArray(saveMean), si = Mem.toArray(saveInvStd);
        float[] dg = new float[c], db = new float[c];
        MemorySegment sx = Mem.seg(x), sd = Mem.seg(dy), so = Mem.seg(dx);
        long bx = Mem.base(x), bd = Mem.base(dy), bo = Mem.base(dx);
        Parallel.range(c, (lo, hi) -> {
            for (int ch = lo; ch < hi; ch++) {
                double sumDy = 0, sumDyXhat = 0;
                float mean = sm[ch], inv = si[ch];
                for (int i = 0; i < n; i++) {
                    long oi = 4 * (((long) i * c + ch) * plane);
                    for (long j = 0; j < plane; j++) {
                        double d = sd.get(Mem.F, bd + oi + 4 * j);
                        sumDy += d;
                        sumDyXhat += d * (sx.get(Mem.F, bx + oi + 4 * j) - mean) * inv;
                    }
                }
                dg[ch] = (float) sumDyXhat;
                db[ch] = (float) sumDy;
                double k = (double) gm[ch] * inv / count;
                double meanDy = sumDy, meanDyXhat = sumDyXhat;
                for (int i = 0; i < n; i++) {
                    long oi = 4 * (((long) i * c + ch) * plane);
                    for (long j = 0; j < plane; j++) {
                        double xhat = (sx.get(Mem.F, bx + oi + 4 * j) - mean) * inv;
                        double d = sd.get(Mem.F, bd + oi + 4 * j);
                        so.set(Mem.F, bo + oi + 4 * j, (float) (k * (count * d - meanDy - xhat * meanDyXhat)));
                    }
                }
            }
        });
        if (dgamma != null) Mem.write(dg, 0, dgamma, 0, c);
        if (dbeta != null) Mem.write(db, 0, dbeta, 0, c);
    }
}
