package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.spi.PoolSpec;

import static dvp.engine.cuda.Addr.of;

/**
 * Max and global-average pooling: kernels/src/main/cuda/pool.cu (NCHW) and pool_nhwc.cu
 * (channels-last, chosen by the input's strides; x, y, argmax, dy and dx share the layout). x, y,
 * dy, dx: all F32 or all BF16 (bf16 autocast's activations: fp32 arithmetic, one rounding at the
 * store; max pooling copies values, so its forward is exact). CPU reference: CpuPool.
 */
final class CudaPool {
    private CudaPool() {}

    static void maxForward(CudaContext c, Tensor x, Tensor y, Tensor argmax, PoolSpec p) {
        boolean bf16 = Addr.bf16("maxPool2dForward", x, y);
        if (argmax.dtype() != DType.I32) throw new IllegalArgumentException("maxPool2dForward: argmax must be I32, got " + argmax.describe());
        long total = y.numel();
        if (CudaLayout.channelsLast("maxPool2dForward", x, y, argmax))
            c.launch1d(bf16 ? "dvp_maxpool2d_nhwc_forward_bf16" : "dvp_maxpool2d_nhwc_forward_f32", total, new KernelArgs().i64(total).i32(x.dim(1)).i32(x.dim(2)).i32(x.dim(3))
                    .i32(y.dim(2)).i32(y.dim(3)).i32(p.kernel()).i32(p.stride()).i32(p.pad()).ptr(of(x)).ptr(of(y)).ptr(of(argmax)));
        else c.launch1d(bf16 ? "dvp_maxpool2d_forward_bf16" : "dvp_maxpool2d_forward_f32", total, new KernelArgs().i64(total).i32(x.dim(2)).i32(x.dim(3)).i32(y.dim(2)).i32(y.dim(3))
                .i32(p.kernel()).i32(p.stride()).i32(p.pad()).ptr(of(x)).ptr(of(y)).ptr(of(argmax)));
        // backward has no geometry argument: remember it on the indices so it can gather deterministically
        ((CudaStorage) argmax.storage()).poolSpec = p;
    }

    static void maxBackward(CudaContext c, Tensor dy, Tensor argmax, Tensor dx) {
        boolean bf16 = Addr.bf16("maxPool2dBackward", dy, dx);
        PoolSpec p = ((CudaStorage) argmax.storage()).poolSpec;
        int h = dx.dim(2), w = dx.dim(3), ho = dy.dim(2), wo = dy.dim(3);
        boolean nhwc = CudaLayout.channelsLast("maxPool2dBackward", dy, argmax, dx);
        boolean geometryKnown = p != null && p.out(h) == ho && p.out(w) == wo;
        if (nhwc && !geometryKnown)
            throw new IllegalArgumentException("maxPool2dBackward: channels-last indices " + argmax.describe()
                    + " were not produced by this backend's maxPool2dForward (its geometry is unknown); the per-plane"
                    + " fallback runs NCHW only: pass NCHW tensors");
        if (nhwc) {
            long total = dx.numel();
            c.launch1d(bf16 ? "dvp_maxpool2d_nhwc_backward_bf16" : "dvp_maxpool2d_nhwc_backward_f32", total, new KernelArgs().i64(total).i32(dx.dim(1)).i32(h).i32(w).i32(ho).i32(wo)
                    .i32(p.kernel()).i32(p.stride()).i32(p.pad()).ptr(of(dy)).ptr(of(argmax)).ptr(of(dx)));
        } else if (geometryKnown) {
            long total = dx.numel();
            c.launch1d(bf16 ? "dvp_maxpool2d_backward_bf16" : "dvp_maxpool2d_backward_f32", total, new KernelArgs().i64(total).i32(h).i32(w).i32(ho).i32(wo)
                    .i32(p.kernel()).i32(p.stride()).i32(p.pad()).ptr(of(dy)).ptr(of(argmax)).ptr(of(dx)));
        } else {
            CudaCopy.fill(c, dx, 0);
            long planes = (long) dx.dim(0) * dx.dim(1);
            c.launch1d(bf16 ? "dvp_maxpool2d_backward_planes_bf16" : "dvp_maxpool2d_backward_planes_f32", planes, new KernelArgs().i64(planes).i64((long) h * w).i64((long) ho * wo)
                    .ptr(of(dy)).ptr(of(argmax)).ptr(of(dx)));
        }
    }

    static void globalAvgForward(CudaContext c, Tensor x, Tensor y) {
        boolean bf16 = Addr.bf16("globalAvgPoolForward", x, y);
        long planes = (long) x.dim(0) * x.dim(1), hw = CudaElementwise.planeOf(x);
        if (planes == 0) return;
        if (CudaLayout.channelsLast("globalAvgPoolForward", x)) {
            c.launch1d(bf16 ? "dvp_global_avg_nhwc_forward_bf16" : "dvp_global_avg_nhwc_forward_f32", planes, new KernelArgs().i64(planes).i32(x.dim(1)).i64(hw).ptr(of(x)).ptr(of(y)));
            return;
        }
        c.launch(bf16 ? "dvp_global_avg_forward_bf16" : "dvp_global_avg_forward_f32", (int) ((planes * 32 + 255) / 256), 1, 256, 0,
                new KernelArgs().i64(planes).i64(hw).ptr(of(x)).ptr(of(y)));
    }

    static void globalAvgBackward(CudaContext c, Tensor dy, Tensor dx) {
        boolean bf16 = Addr.bf16("globalAvgPoolBackward", dy, dx);
        long total = dx.numel(), hw = CudaElementwise.planeOf(dx);
        if (CudaLayout.channelsLast("globalAvgPoolBackward", dx))
            c.launch1d(bf16 ? "dvp_global_avg_nhwc_backward_bf16" : "dvp_global_avg_nhwc_backward_f32", total, new KernelArgs().i64(total).i32(dx.dim(1)).i64(hw).ptr(of(dy)).ptr(of(dx)));
        else c.launch1d(bf16 ? "dvp_global_avg_backward_bf16" : "dvp_global_avg_backward_f32", total, new KernelArgs().i64(total).i64(hw).ptr(of(dy)).ptr(of(dx)));
    }
}
