package dvp.engine.cuda;

import dvp.engine.Tensor;

import static dvp.engine.cuda.Addr.of;

/**
 * OFD partial-L2 loss and gradient: kernels/src/main/cuda/ofd.cu, one read of s and t per kernel,
 * 16-byte loads where the arrays' alignment allows, a 2-D grid over rows (one channel per row for
 * NCHW, one channel per column for NHWC) instead of a division per element, and a deterministic
 * block reduction. CPU reference: CpuOfd. Verified in simulation, not on hardware.
 */
final class CudaOfd {
    /** Threads per block (DVP_BLOCK) and float4 quads per thread per column chunk (DVP_OFD_QPT). */
    static final int BLOCK = 256, QPT = 4;

    private CudaOfd() {}

    /**
     * The launch geometry, from the shape alone: rows of {@code rowLen} elements, TX = 2^txLog2
     * threads per row (enough for QPT quads each, at most a block), TY = BLOCK / TX rows per block,
     * gridY column chunks of 4·TX·QPT elements.
     */
    record Geometry(long n, long rowLen, long rows, long channels, boolean channelsLast, int txLog2, int gridX, int gridY) {
        static Geometry of(String op, long n, long channels, int channelStride) {
            if (channelStride < 1) throw new IllegalArgumentException(op + ": channelStride must be >= 1, got " + channelStride);
            if (channels < 1) throw new IllegalArgumentException(op + ": the margin must have at least one channel");
            boolean channelsLast = channelStride == 1;
            long rowLen = channelsLast ? channels : channelStride;
            long rows = (n + rowLen - 1) / rowLen;
            long wantTx = ((rowLen + 3) / 4 + QPT - 1) / QPT;
            int txLog2 = 0;
            while ((1L << txLog2) < wantTx && (1 << txLog2) < BLOCK) txLog2++;
            long tx = 1L << txLog2, ty = BLOCK / tx;
            long gx = (rows + ty - 1) / ty, gy = (rowLen + 4 * tx * QPT - 1) / (4 * tx * QPT);
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

    static void forward(CudaContext c, Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor loss) {
        Addr.f32("ofdLossForward", s, t, margin, loss);
        long n = s.numel();
        Geometry g = Geometry.of("ofdLossForward", n, margin.numel(), channelStride);
        long parts = n == 0 ? 0 : (long) g.gridX() * g.gridY();
        CachingAllocator.Block partial = c.scratch(Math.max(8, 8 * parts));
        try {
            if (parts > 0)
                c.launch("dvp_ofd_partials", g.gridX(), g.gridY(), BLOCK, 0, new KernelArgs().i64(n).i64(g.rowLen()).i64(g.rows())
                        .i64(g.channels()).i32(g.channelsLast() ? 1 : 0).i32(g.txLog2()).i32(sameQuadPhase(of(s), of(t)) ? 1 : 0).ptr(of(s)).ptr(of(t)).ptr(of(margin)).ptr(partial.address));
            c.launch("dvp_ofd_final", 1, 1, BLOCK, 0, new KernelArgs().i64(parts).f32(w).ptr(partial.address).ptr(of(loss)));
        } finally {
            c.allocator.free(partial);
        }
    }

    static void backward(CudaContext c, Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor gradOut, Tensor ds) {
        Addr.f32("ofdLossBackward", s, t, margin, gradOut, ds);
        long n = s.numel();
        if (n == 0) return;
        Geometry g = Geometry.of("ofdLossBackward", n, margin.numel(), channelStride);
        c.launch("dvp_ofd_backward", g.gridX(), g.gridY(), BLOCK, 0, new KernelArgs().i64(n).i64(g.rowLen()).i64(g.rows())
                .i64(g.channels()).i32(g.channelsLast() ? 1 : 0).i32(g.txLog2()).i32(sameQuadPhase(of(s), of(t), of(ds)) ? 1 : 0).f32(w)
                .ptr(of(s)).ptr(of(t)).ptr(of(margin)).ptr(of(gradOut)).ptr(of(ds)));
    }
}
