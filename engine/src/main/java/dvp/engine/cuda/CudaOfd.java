package dvp.engine.cuda;

import dvp.engine.Tensor;

import static dvp.engine.cuda.Addr.of;

/**
 * OFD partial-L2 loss, fused, with a deterministic block reduction: kernels/src/main/cuda/ofd.cu.
 * CPU reference: CpuOfd. UNVERIFIED on a GPU.
 */
final class CudaOfd {
    static final long CHUNK = 16384;

    private CudaOfd() {}

    static void forward(CudaContext c, Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor loss) {
        Addr.f32("ofdLossForward", s, t, margin, loss);
        long n = s.numel(), parts = (n + CHUNK - 1) / CHUNK;
        CachingAllocator.Block partial = c.scratch(Math.max(8, 8 * parts));
        try {
            if (parts > 0)
                c.launch("dvp_ofd_partials", (int) parts, 1, 256, 0, new KernelArgs().i64(n).i64(CHUNK).i64(channelStride)
                        .i64(margin.numel()).ptr(of(s)).ptr(of(t)).ptr(of(margin)).ptr(partial.address));
            c.launch("dvp_ofd_final", 1, 1, 256, 0, new KernelArgs().i64(parts).f32(w).ptr(partial.address).ptr(of(loss)));
        } finally {
            c.allocator.free(partial);
        }
    }

    static void backward(CudaContext c, Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor gradOut, Tensor ds) {
        Addr.f32("ofdLossBackward", s, t, margin, gradOut, ds);
        long n = s.numel();
        c.launch1d("dvp_ofd_backward", n, new KernelArgs().i64(n).i64(channelStride).i64(margin.numel()).f32(w)
                .ptr(of(s)).ptr(of(t)).ptr(of(margin)).ptr(of(gradOut)).ptr(of(ds)));
    }
}
