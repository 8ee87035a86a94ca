package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Tensor;

import static dvp.engine.cuda.Addr.of;

/**
 * OFD partial-L2 loss and gradient: kernels/src/main/cuda/ofd.cu, one read of s and t per kernel,
 * 16-byte loads where the arrays' alignment allows, a 2-D grid over rows (one channel per row for
 * NCHW, one channel per column for NHWC) instead of a division per element, and a deterministic
 * block reduction. s, t and ds are all F32 or all BF16 (the {@code _bf16} kernels: 8 elements per
 * 16-byte load, every operation in fp32 on the exactly widened values, ds rounded once to bf16);
 * the margin, the loss and gradOut are F32. CPU reference: CpuOfd (fp32; for bf16, on the
 * bf16 values). Verified in simulation, not on hardware.
 */
final class CudaOfd {
    /** Threads per block (DVP_BLOCK) and 16-byte vectors per thread per column chunk (DVP_OFD_QPT). */
    static final int BLOCK = 256, QPT = 4;

    private CudaOfd() {}

    /**
     * The launch geometry, from the shape and the element size alone: rows of {@code rowLen}
     * elements, TX = 2^txLog2 threads per row (enough for QPT vectors of {@code vec} elements each,
     * at most a block), TY = BLOCK / TX rows per block, gridY column chunks of vec·TX·QPT elements
     * (vec = 16 bytes / element size: 4 for F32, 8 for BF16, the kernel's DvpOfdElem::V).
     */
    record Geometry(long n, long rowLen, long rows, long channels, boolean channelsLast, int txLog2, int gridX, int gridY) {
        static Geometry of(String op, long n, long channels, int channelStride, int vec) {
            if (channelStride < 1) throw new IllegalArgumentException(op + ": channelStride must be >= 1, got " + channelStride);
            if (channels < 1) throw new IllegalArgumentException(op + ": the margin must have at least one channel");
            boolean channelsLast = channelStride == 1;
            long rowLen = channelsLast ? channels : channelStride;
            long rows = (n + rowLen - 1) / rowLen;
            long wantTx = ((rowLen + vec - 1) / vec + QPT - 1) / QPT;
            int txLog2 = 0;
            while ((1L << txLog2) < wantTx && (1 << txLog2) < BLOCK) txLog2++;
            long tx = 1L << txLog2, ty = BLOCK / tx;
            long gx = (rows + ty - 1) / ty, gy = (rowLen + vec * tx * QPT - 1) / (vec * tx * QPT);
            if (gx > Integer.MAX_VALUE || gy > 65535)
                throw new IllegalArgumentException(op + ": " + n + " elements in rows of " + rowLen + " exceed one launch's grid");
            return new Geometry(n, rowLen, rows, channels, channelsLast, txLog2, (int) gx, (int) gy);
        }
    }

    /** Whether the float4 path may run: every array in the same 16-byte phase as s. */
    static boolean sameQuadPhase(long s, long... others) {
        for (long o : others) if (((s ^ o) & 15) != 0) return false;
        return true;
    }

    /**
     * Whether s, t (and ds) are all BF16 (the {@code _bf16} kernels) rather than all F32; anything
     * else (mixed, or another dtype) is an error naming the tensors.
     */
    static boolean bf16(String op, Tensor s, Tensor t, Tensor ds) {
        boolean f32 = s.dtype() == DType.F32 && t.dtype() == DType.F32 && (ds == null || ds.dtype() == DType.F32);
        boolean bf16 = s.dtype() == DType.BF16 && t.dtype() == DType.BF16 && (ds == null || ds.dtype() == DType.BF16);
        if (!f32 && !bf16)
            throw new IllegalArgumentException(op + ": s, t" + (ds == null ? "" : " and ds") + " must be all F32 or all BF16, got "
                    + s.describe() + ", " + t.describe() + (ds == null ? "" : " and " + ds.describe()));
        return bf16;
    }

    /** Elements per 16-byte vector load of s's dtype (4 F32, 8 BF16). */
    private static int vec(Tensor s) { return 16 / s.dtype().byteSize(); }

    static void forward(CudaContext c, Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor loss) {
        boolean bf16 = bf16("ofdLossForward", s, t, null);
        Addr.f32("ofdLossForward", margin, loss);
        long n = s.numel();
        Geometry g = Geometry.of("ofdLossForward", n, margin.numel(), channelStride, vec(s));
        long parts = n == 0 ? 0 : (long) g.gridX() * g.gridY();
        CachingAllocator.Block partial = c.scratch(Math.max(8, 8 * parts));
        try {
            if (parts > 0)
                c.launch(bf16 ? "dvp_ofd_partials_bf16" : "dvp_ofd_partials", g.gridX(), g.gridY(), BLOCK, 0, new KernelArgs().i64(n).i64(g.rowLen()).i64(g.rows())
                        .i64(g.channels()).i32(g.channelsLast() ? 1 : 0).i32(g.txLog2()).i32(sameQuadPhase(of(s), of(t)) ? 1 : 0).ptr(of(s)).ptr(of(t)).ptr(of(margin)).ptr(partial.address));
            c.launch("dvp_ofd_final", 1, 1, BLOCK, 0, new KernelArgs().i64(parts).f32(w).ptr(partial.address).ptr(of(loss)));
        } finally {
            c.allocator.free(partial);
        }
    }

    static void backward(CudaContext c, Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor gradOut, Tensor ds) {
        boolean bf16 = bf16("ofdLossBackward", s, t, ds);
        Addr.f32("ofdLossBackward", margin, gradOut);
        long n = s.numel();
        if (n == 0) return;
        Geometry g = Geometry.of("ofdLossBackward", n, margin.numel(), channelStride, vec(s));
        c.launch(bf16 ? "dvp_ofd_backward_bf16" : "dvp_ofd_backward", g.gridX(), g.gridY(), BLOCK, 0, new KernelArgs().i64(n).i64(g.rowLen()).i64(g.rows())
                .i64(g.channels()).i32(g.channelsLast() ? 1 : 0).i32(g.txLog2()).i32(sameQuadPhase(of(s), of(t), of(ds)) ? 1 : 0).f32(w)
                .ptr(of(s)).ptr(of(t)).ptr(of(margin)).ptr(of(gradOut)).ptr(of(ds)));
    }
}
