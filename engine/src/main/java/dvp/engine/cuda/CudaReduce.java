package dvp.engine.cuda;

import dvp.engine.Tensor;

import static dvp.engine.cuda.Addr.of;

/**
 * Deterministic reductions: kernels/src/main/cuda/reduce.cu. CPU reference: CpuReduce. Slice
 * sizes are constants, so the partial sums (and hence the bits) depend only on the shape.
 */
final class CudaReduce {
    static final long SUM_CHUNK = 16384;
    static final long CHANNEL_SLICE = 16384;
    static final long ROWS_PER_CHUNK = 256;
    static final int BLOCK = 256;

    private CudaReduce() {}

    static void sumAll(CudaContext c, Tensor x, Tensor out) {
        Addr.f32("sumAll", x, out);
        long n = x.numel();
        long parts = (n + SUM_CHUNK - 1) / SUM_CHUNK;
        CachingAllocator.Block partial = c.scratch(Math.max(8, parts * 8));
        try {
            if (parts > 0)
                c.launch("dvp_sum_partials_f32", (int) parts, 1, BLOCK, 0, new KernelArgs().i64(n).i64(SUM_CHUNK).ptr(of(x)).ptr(partial.address));
            c.launch("dvp_sum_final_f32", 1, 1, BLOCK, 0, new KernelArgs().i64(parts).ptr(partial.address).f64(1.0).ptr(of(out)));
        } finally {
            c.allocator.free(partial);
        }
    }

    static void sumRows(CudaContext c, Tensor x, Tensor out) {
        Addr.f32("sumRows", x, out);
        long rows = x.dim(0), cols = rows == 0 ? out.numel() : x.numel() / rows;
        if (cols == 0) return;
        long rowsPer = Math.max(ROWS_PER_CHUNK, (rows + 65534) / 65535);
        long chunks = Math.max(1, (rows + rowsPer - 1) / rowsPer);
        CachingAllocator.Block partial = c.scratch(chunks * cols * 8);
        try {
            c.launch("dvp_col_sum_partials_f32", (int) ((cols + BLOCK - 1) / BLOCK), (int) chunks, BLOCK, 0,
                    new KernelArgs().i64(rows).i64(cols).i64(rowsPer).ptr(of(x)).ptr(partial.address));
            c.launch1d("dvp_col_sum_final_f32", cols, new KernelArgs().i64(chunks).i64(cols).ptr(partial.address).ptr(of(out)));
        } finally {
            c.allocator.free(partial);
        }
    }

    static final int MODE_SUM = 0, MODE_DOT = 1, MODE_CENTERED_SQ = 2, MODE_BN_BACKWARD = 3;

    /**
     * Queues the per-channel partial sums of x [N, C, *] (see reduce.cu's modes) into a fresh
     * double2[C * slices] scratch block, which the caller frees after queueing its consumer. x and y
     * share one layout (the caller checked); channels-last runs as the view of {@link CudaLayout}.
     */
    static Partials channelPartials(CudaContext c, int mode, Tensor x, Tensor y, long meanD, Tensor meanF, Tensor invF) {
        long n = CudaLayout.images(x), ch = x.dim(1), plane = CudaLayout.plane(x);
        if (ch > 65535) throw new IllegalArgumentException("per-channel reduction: " + ch + " channels exceed the CUDA grid's y limit (65535)");
        long count = n * plane;
        long slices = Math.max(1, (count + CHANNEL_SLICE - 1) / CHANNEL_SLICE);
        CachingAllocator.Block partial = c.scratch(Math.max(16, ch * slices * 16));
        boolean bf16 = Addr.bf16("per-channel reduction", x, y);
        if (ch > 0)
            c.launch(bf16 ? "dvp_channel_partials_bf16" : "dvp_channel_partials_f32", (int) slices, (int) ch, BLOCK, 0, new KernelArgs().i64(n).i64(ch).i64(plane)
                    .i64(CHANNEL_SLICE).i32(mode).ptr(of(x)).ptr(Addr.orNull(y)).ptr(meanD).ptr(Addr.orNull(meanF))
                    .ptr(Addr.orNull(invF)).ptr(partial.address));
        return new Partials(partial, slices, ch, count);
    }

    record Partials(CachingAllocator.Block block, long slices, long channels, long count) {}

    static void channelReduce(CudaContext c, Tensor x, Tensor y, Tensor out) {
        Addr.bf16(y == null ? "channelSum" : "channelDot", x, y);
        Addr.f32(y == null ? "channelSum" : "channelDot", out);
        CudaLayout.channelsLast(y == null ? "channelSum" : "channelDot", x, y);
        Partials p = channelPartials(c, y == null ? MODE_SUM : MODE_DOT, x, y, 0, null, null);
        try {
            c.launch1d("dvp_channel_final_f32", p.channels(), new KernelArgs().i64(p.channels()).i64(p.slices())
                    .ptr(p.block().address).ptr(of(out)));
        } finally {
            c.allocator.free(p.block());
        }
    }
}
