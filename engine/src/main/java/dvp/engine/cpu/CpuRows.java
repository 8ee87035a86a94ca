package dvp.engine.cpu;

import dvp.engine.Tensor;

/** Row-wise kernels over [rows, d] matrices: L2 normalisation and softmax cross-entropy. */
final class CpuRows {
    private CpuRows() {}

    static void l2NormalizeForward(Tensor x, float eps, Tensor y, Tensor norms) {
        int rows = x.dim(0), d = (int) (x.numel() / rows);
        float[] a = Mem.toArray(x), out = new float[a.length], nr = new float[rows];
        Parallel.range(rows, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                double s = 0;
                for (int j = 0; j < d; j++) s += (double) a[r * d + j] * a[r * d + j];
                float norm = (float) Math.sqrt(s);
                nr[r] = norm;
                float denom = Math.max(norm, eps);
                for (int j = 0; j < d; j++) out[r * d + j] = a[r * d + j] / denom;
            }
        });
        Mem.write(out, 0, y, 0, out.length);
        Mem.write(nr, 0, norms, 0, rows);
    }

    /**
     * y = x / max(||x||, eps). Where ||x|| > eps: dx = (dy - y (y·dy)) / ||x||; where the norm is
     * clamped the denominator is a constant: dx = dy / eps.
     */
    static void l2NormalizeBackward(Tensor dyt, Tensor yt, Tensor normst, float eps, Tensor dxt) {
        int rows = yt.dim(0), d = (int) (yt.numel() / rows);
        float[] dy = Mem.toArray(dyt), y = Mem.toArray(yt), nr = Mem.toArray(normst), dx = new float[dy.length];
        Parallel.range(rows, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                float norm = nr[r];
                if (norm > eps) {
                    double dot = 0;
                    for (int j = 0; j < d; j++) dot += (double) y[r * d + j] * dy[r * d + j];
                    for (int j = 0; j < d; j++) dx[r * d + j] = (float) ((dy[r * d + j] - y[r * d + j] * dot) / norm);
                } else {
                    for (int j = 0; j < d; j++) dx[r * d + j] = dy[r * d + j] / eps;
                }
            }
        });
        Mem.write(dx, 0, dxt, 0, dx.length);
    }

    static int label(Tensor labels, int i, int k) {
        long l = Mem.getL(labels, i);
        if (l < 0 || l >= k)
            throw new IllegalArgumentException("cross_entropy: label " + l + " at row " + i + " is outside [0, " + k + ")");
        return (int) l;
    }

    /** loss = mean_i [ logsumexp(z_i) - sum_k t_ik z_ik ], t = (1-eps) onehot + eps/K. */
    static void crossEntropyForward(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs) {
        int n = logits.dim(0), k = logits.dim(1);
        float[] z = Mem.toArray(logits), p = new float[z.length];
        int[] lab = new int[n];
        for (int i = 0; i < n; i++) lab[i] = label(labels, i, k);
        double[] per = new double[n];
        Parallel.range(n, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                int o = i * k;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < k; j++) max = Math.max(max, z[o + j]);
                double sum = 0, zsum = 0;
                for (int j = 0; j < k; j++) {
                    double e = Math.exp(z[o + j] - max);
                    p[o + j] = (float) e;
                    sum += e;
                    zsum += z[o + j];
                }
                double lse = max + Math.log(sum);
                for (int j = 0; j < k; j++) p[o + j] = (float) (p[o + j] / sum);
                double target = (1 - smoothing) * z[o + lab[i]] + smoothing * zsum / k;
                per[i] = lse - target;
            }
        });
        double total = 0;
        for (double v : per) total += v;
        Mem.seg(loss).set(Mem.F, Mem.base(loss), (float) (total / n));
        Mem.write(p, 0, probs, 0, p.length);
    }

    static void crossEntropyBackward(Tensor probs, Tensor labels, float smoothing, Tensor gradOut, Tensor dlogits) {
        int n = probs.dim(0), k = probs.dim(1);
        float[] p = Mem.toArray(probs), d = new float[p.length];
        float scale = Mem.getF(gradOut, 0) / n;
        float off = smoothing / k, on = 1 - smoothing + smoothing / k;
        for (int i = 0; i < n; i++) {
            int l = label(labels, i, k);
            for (int j = 0; j < k; j++) d[i * k + j] = (p[i * k + j] - (j == l ? on : off)) * scale;
        }
        Mem.write(d, 0, dlogits, 0, d.length);
    }
}
