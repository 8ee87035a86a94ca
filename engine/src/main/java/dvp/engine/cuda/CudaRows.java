package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Tensor;

import static dvp.engine.cuda.Addr.of;

/**
 * Row-wise primitives (one warp per row): L2 normalisation and softmax cross-entropy with label
 * smoothing: kernels/src/main/cuda/rows.cu. CPU reference: CpuRows. An out-of-range label is
 * detected on the device and thrown at the next synchronisation (see {@link DeviceErrors}).
 */
final class CudaRows {
    private CudaRows() {}

    private static int warpGrid(long rows) { return (int) Math.max(1, (rows * 32 + 255) / 256); }

    static void l2NormalizeForward(CudaContext c, Tensor x, float eps, Tensor y, Tensor norms) {
        Addr.f32("l2NormalizeForward", x, y, norms);
        long rows = x.dim(0), d = rows == 0 ? 0 : x.numel() / rows;
        if (rows == 0) return;
        c.launch("dvp_l2norm_forward_f32", warpGrid(rows), 1, 256, 0, new KernelArgs().i64(rows).i64(d).f32(eps)
                .ptr(of(x)).ptr(of(y)).ptr(of(norms)));
    }

    static void l2NormalizeBackward(CudaContext c, Tensor dy, Tensor y, Tensor norms, float eps, Tensor dx) {
        Addr.f32("l2NormalizeBackward", dy, y, norms, dx);
        long rows = y.dim(0), d = rows == 0 ? 0 : y.numel() / rows;
        if (rows == 0) return;
        c.launch("dvp_l2norm_backward_f32", warpGrid(rows), 1, 256, 0, new KernelArgs().i64(rows).i64(d).f32(eps)
                .ptr(of(dy)).ptr(of(y)).ptr(of(norms)).ptr(of(dx)));
    }

    private static void labelsI64(String op, Tensor labels) {
        if (labels.dtype() != DType.I64) throw new IllegalArgumentException(op + ": labels must be I64, got " + labels.describe());
    }

    static void crossEntropyForward(CudaContext c, Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs) {
        Addr.f32("softmaxCrossEntropyForward", logits, loss, probs);
        labelsI64("softmaxCrossEntropyForward", labels);
        long n = logits.dim(0), k = logits.dim(1);
        CachingAllocator.Block rowLoss = c.scratch(Math.max(8, 8 * n));
        try {
            if (n > 0)
                c.launch("dvp_softmax_xent_forward_f32", warpGrid(n), 1, 256, 0, new KernelArgs().i64(n).i64(k).f32(smoothing)
                        .ptr(of(logits)).ptr(of(labels)).ptr(of(probs)).ptr(rowLoss.address).ptr(c.errorWordAddress()));
            c.launch("dvp_mean_rows_f64", 1, 1, 256, 0, new KernelArgs().i64(n).ptr(rowLoss.address).ptr(of(loss)));
        } finally {
            c.allocator.free(rowLoss);
        }
    }

    static void crossEntropyBackward(CudaContext c, Tensor probs, Tensor labels, float smoothing, Tensor gradOut, Tensor dlogits) {
        Addr.f32("softmaxCrossEntropyBackward", probs, gradOut, dlogits);
        labelsI64("softmaxCrossEntropyBackward", labels);
        int n = probs.dim(0), k = probs.dim(1);
        // the smoothed target values, computed in float exactly as the CPU reference does
        float off = smoothing / k, on = 1 - smoothing + smoothing / k;
        long total = (long) n * k;
        c.launch1d("dvp_softmax_xent_backward_f32", total, new KernelArgs().i64(total).i64(k).i64(n).f32(on).f32(off)
                .ptr(of(probs)).ptr(of(labels)).ptr(of(gradOut)).ptr(of(dlogits)).ptr(c.errorWordAddress()));
    }
}
