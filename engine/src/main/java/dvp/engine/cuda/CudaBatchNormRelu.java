package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.MemoryFormat;
import dvp.engine.Shape;
import dvp.engine.Tensor;

import static dvp.engine.cuda.Addr.of;
import static dvp.engine.cuda.Addr.orNull;

/**
 * Batch norm fused with a ResNet block's residual add and ReLU (kernels/src/main/cuda/bn_relu.cu):
 * forward = one read of x for both statistics, one pass reading x (+ residual) and writing y;
 * backward = one read of dy, y (the ReLU mask) and x for both per-channel sums, one pass writing dx
 * (+ dresidual). Always dvp's own kernels (cuDNN's fused BN + add + activation,
 * cudnnBatchNormalizationForwardTrainingEx, is not bound).
 *
 * <p>Layouts: NCHW (contiguous) or channels-last (NHWC memory; the dvp_bnr_nhwc_* kernels, channel
 * fastest), never a transpose; every activation of one call shares x's memory order
 * ({@link MemoryFormat#common}). Element types: the activations (x, residual, y, dy, dx, dresidual)
 * are all F32 or all BF16 (the *_bf16 kernels: bf16 storage, fp32 arithmetic); gamma, beta, the
 * running and saved statistics, dgamma and dbeta are F32 always. Saved statistics follow
 * {@link CudaBatchNorm}'s convention (batch mean, 1/sqrt(biased var + eps)), so the unfused backward
 * could consume them too. CPU reference: CpuBatchNormRelu (the unfused primitives composed, F32).
 * Verified in simulation, not on hardware.
 */
final class CudaBatchNormRelu {
    /** Threads per block (DVP_BLOCK) and quads per thread the NCHW geometry aims for. */
    static final int BLOCK = 256, QPT = 4;
    /** NHWC: at most this many channel groups per block row, and pixels per thread per slice. */
    static final int NHWC_MAX_TX_LOG2 = 5, NHWC_PPT = 32;

    private CudaBatchNormRelu() {}

    /**
     * The NCHW launch geometry, from the shape alone: block (c, s) = channel c of TY = BLOCK / TX
     * consecutive images, TX = 2^txLog2 threads per image plane (enough for QPT quads each, at
     * most a block), gridY = ceil(N / TY) image slices (one partial per channel and slice).
     */
    record Geometry(long n, long channels, long plane, int txLog2, int gridX, int gridY) {
        static Geometry of(String op, Tensor x) {
            long n = x.dim(0), c = x.dim(1), plane = CudaElementwise.planeOf(x);
            long wantTx = ((plane + 3) / 4 + QPT - 1) / QPT;
            int txLog2 = 0;
            while ((1L << txLog2) < wantTx && (1 << txLog2) < BLOCK) txLog2++;
            long ty = BLOCK >> txLog2;
            long gy = (n + ty - 1) / ty;
            if (c > Integer.MAX_VALUE || gy > 65535)
                throw new IllegalArgumentException(op + ": input " + Shape.str(x.shape()) + " exceeds one launch's grid ("
                        + c + " channels, " + gy + " image slices of " + ty + ")");
            return new Geometry(n, c, plane, txLog2, (int) c, (int) gy);
        }
    }

    /**
     * The NHWC launch geometry (memory [pixels = N·H·W, C]), from the shape and {@code vec} alone: a
     * thread owns a group of 4 channels (vec: C % 4 == 0 and every array quad-aligned) or 1; block
     * (gx, s) = TX = 2^txLog2 consecutive groups (TX the smallest power of two covering all groups,
     * at most 2^NHWC_MAX_TX_LOG2) × TY = BLOCK / TX pixel rows; slice s = pixels [s·chunk,
     * (s+1)·chunk), chunk = TY·NHWC_PPT (grown when the pixels would need more than 65535 slices).
     * One partial per channel and slice, as in NCHW.
     */
    record NhwcGeometry(long pixels, long channels, long chunk, int txLog2, boolean vec, int gridX, int gridY) {
        static NhwcGeometry of(String op, Tensor x, boolean vec) {
            long c = x.dim(1), pixels = x.numel() / Math.max(1, c);
            long groups = vec ? c / 4 : c;
            int txLog2 = 0;
            while ((1L << txLog2) < groups && txLog2 < NHWC_MAX_TX_LOG2) txLog2++;
            long ty = BLOCK >> txLog2;
            long chunk = ty * NHWC_PPT;
            long gy = (pixels + chunk - 1) / chunk;
            if (gy > 65535) {
                chunk = ((pixels + 65535 - 1) / 65535 + ty - 1) / ty * ty;
                gy = (pixels + chunk - 1) / chunk;
            }
            long gx = (groups + (1L << txLog2) - 1) >> txLog2;
            if (gx > Integer.MAX_VALUE || gy > 65535)
                throw new IllegalArgumentException(op + ": input " + Shape.str(x.shape()) + " exceeds one launch's grid ("
                        + gx + " channel tiles, " + gy + " pixel slices)");
            return new NhwcGeometry(pixels, c, chunk, txLog2, vec, (int) gx, (int) gy);
        }

        int vecFlag() { return vec ? 1 : 0; }
    }

    /**
     * The activations' element type: all F32 or all BF16 (nulls skipped); anything else, or a mix,
     * is refused naming the op and the tensors.
     */
    static DType elementType(String op, Tensor x, Tensor... others) {
        DType t = x.dtype();
        if (t != DType.F32 && t != DType.BF16)
            throw new IllegalArgumentException(op + ": activations must be F32 or BF16, got " + x.describe());
        for (Tensor o : others)
            if (o != null && o.dtype() != t)
                throw new IllegalArgumentException(op + ": mixed element types: " + x.describe() + " but " + o.describe()
                        + " (the activations of one call share x's dtype)");
        return t;
    }

    /** Whether the call indexes NHWC memory; checks that every activation shares x's memory order. */
    static boolean nhwc(String op, Tensor x, Tensor... others) {
        MemoryFormat.common(op, x, others);
        return MemoryFormat.isNhwcMemory(x);
    }

    /** Whether every (non-zero) address is a multiple of a quad's bytes: the NHWC vector path's requirement. */
    static boolean quadAligned(int quadBytes, long... addrs) {
        for (long a : addrs) if (a % quadBytes != 0) return false;
        return true;
    }

    /** Whether every (non-zero) address has s's phase modulo a quad's bytes: the NCHW vector path's requirement. */
    static boolean sameQuadPhase(int quadBytes, long s, long... addrs) {
        for (long a : addrs) if (a != 0 && (a - s) % quadBytes != 0) return false;
        return true;
    }

    // Every launch names its kernels as literals with the argument list inline (KernelSignatureTest
    // checks each against the kernel's C parameters): NCHW or NHWC by branch, F32 or BF16 by ternary.

    static void trainForward(CudaContext ctx, Tensor x, Tensor residual, Tensor gamma, Tensor beta, Tensor runningMean,
                             Tensor runningVar, float momentum, float eps, boolean relu, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        String op = "batchNormReluTrainForward";
        Addr.f32(op, gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        boolean bf16 = elementType(op, x, residual, y) == DType.BF16;
        boolean nhwc = nhwc(op, x, residual, y);
        long count = (long) x.dim(0) * CudaElementwise.planeOf(x);
        if (count < 2 && runningVar != null)
            throw new IllegalArgumentException("batch_norm_relu: expected more than 1 value per channel when training, got input "
                    + Shape.str(x.shape()));
        if ((runningMean == null) != (runningVar == null))
            throw new IllegalArgumentException("batch_norm_relu: running_mean and running_var must be given together");
        // the unfused backward (cuDNN's) reads the forward's eps from here; this forward's statistics are dvp's own
        ((CudaStorage) saveInvStd.storage()).bnEps = eps;
        if (x.numel() == 0) return;
        int quadBytes = 4 * x.dtype().byteSize();
        int c = x.dim(1);
        long xa = of(x), ra = orNull(residual), ya = of(y);
        NhwcGeometry ng = nhwc ? NhwcGeometry.of(op, x, c % 4 == 0 && quadAligned(quadBytes, xa, ra, ya)) : null;
        Geometry g = nhwc ? null : Geometry.of(op, x);
        int gx = nhwc ? ng.gridX() : g.gridX(), gy = nhwc ? ng.gridY() : g.gridY();
        long kStride = nhwc ? 1 : g.plane(); // x[c * kStride] = x[0, c, 0], the shift K of the one-read sums
        int r = relu ? 1 : 0;
        CachingAllocator.Block partial = ctx.scratch(16L * c * gy), coef = ctx.scratch(8L * c); // scale[c] + shift[c]
        long scale = coef.address, shift = coef.address + 4L * c;
        try {
            if (nhwc)
                ctx.launch(bf16 ? "dvp_bnr_nhwc_stats_partials_bf16" : "dvp_bnr_nhwc_stats_partials", gx, gy, BLOCK, 0, new KernelArgs()
                        .i64(ng.pixels()).i64(ng.channels()).i64(ng.chunk()).i32(ng.txLog2()).i32(ng.vecFlag()).ptr(xa).ptr(partial.address));
            else // the stats pass reads x alone: its own quad phase, vec always
                ctx.launch(bf16 ? "dvp_bnr_stats_partials_bf16" : "dvp_bnr_stats_partials", gx, gy, BLOCK, 0, new KernelArgs()
                        .i64(g.n()).i64(g.channels()).i64(g.plane()).i32(g.txLog2()).i32(1).ptr(xa).ptr(partial.address));
            ctx.launch1d(bf16 ? "dvp_bnr_stats_final_bf16" : "dvp_bnr_stats_final", c, new KernelArgs().i64(c).i64(gy).i64(kStride)
                    .i64(count).f32(eps).f32(momentum).ptr(partial.address).ptr(xa).ptr(of(gamma)).ptr(of(beta)).ptr(of(saveMean))
                    .ptr(of(saveInvStd)).ptr(orNull(runningMean)).ptr(orNull(runningVar)).ptr(scale).ptr(shift));
            if (nhwc)
                ctx.launch(bf16 ? "dvp_bnr_nhwc_apply_bf16" : "dvp_bnr_nhwc_apply", gx, gy, BLOCK, 0, new KernelArgs().i64(ng.pixels())
                        .i64(ng.channels()).i64(ng.chunk()).i32(ng.txLog2()).i32(ng.vecFlag()).i32(r).ptr(xa).ptr(ra).ptr(scale).ptr(shift).ptr(ya));
            else
                ctx.launch(bf16 ? "dvp_bnr_apply_bf16" : "dvp_bnr_apply", gx, gy, BLOCK, 0, new KernelArgs().i64(g.n()).i64(g.channels())
                        .i64(g.plane()).i32(g.txLog2()).i32(sameQuadPhase(quadBytes, xa, ya, ra) ? 1 : 0).i32(r)
                        .ptr(xa).ptr(ra).ptr(scale).ptr(shift).ptr(ya));
        } finally {
            ctx.allocator.free(partial);
            ctx.allocator.free(coef);
        }
    }

    static void trainBackward(CudaContext ctx, Tensor x, Tensor y, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                              boolean relu, Tensor dx, Tensor dresidual, Tensor dgamma, Tensor dbeta) {
        String op = "batchNormReluTrainBackward";
        if (relu && y == null) throw new IllegalArgumentException("batch_norm_relu backward: the ReLU mask needs the forward's output y");
        Tensor mask = relu ? y : null;
        Addr.f32(op, gamma, saveMean, saveInvStd, dgamma, dbeta);
        boolean bf16 = elementType(op, x, mask, dy, dx, dresidual) == DType.BF16;
        boolean nhwc = nhwc(op, x, mask, dy, dx, dresidual);
        if (x.numel() == 0) return;
        int quadBytes = 4 * x.dtype().byteSize();
        int c = x.dim(1);
        long count = (long) x.dim(0) * CudaElementwise.planeOf(x);
        long xa = of(x), ya = orNull(mask), dya = of(dy), dxa = of(dx), dra = orNull(dresidual);
        NhwcGeometry ng = nhwc ? NhwcGeometry.of(op, x, c % 4 == 0 && quadAligned(quadBytes, xa, ya, dya, dxa, dra)) : null;
        Geometry g = nhwc ? null : Geometry.of(op, x);
        int gx = nhwc ? ng.gridX() : g.gridX(), gy = nhwc ? ng.gridY() : g.gridY();
        boolean vecIn = sameQuadPhase(quadBytes, xa, dya, ya), vecAll = vecIn && sameQuadPhase(quadBytes, xa, dxa, dra); // NCHW
        int r = relu ? 1 : 0;
        CachingAllocator.Block partial = ctx.scratch(16L * c * gy), coef = ctx.scratch(12L * c); // (a, b, shift) per channel
        try {
            if (nhwc)
                ctx.launch(bf16 ? "dvp_bnr_nhwc_grad_partials_bf16" : "dvp_bnr_nhwc_grad_partials", gx, gy, BLOCK, 0, new KernelArgs()
                        .i64(ng.pixels()).i64(ng.channels()).i64(ng.chunk()).i32(ng.txLog2()).i32(ng.vecFlag()).i32(r)
                        .ptr(xa).ptr(ya).ptr(dya).ptr(of(saveMean)).ptr(partial.address));
            else
                ctx.launch(bf16 ? "dvp_bnr_grad_partials_bf16" : "dvp_bnr_grad_partials", gx, gy, BLOCK, 0, new KernelArgs().i64(g.n())
                        .i64(g.channels()).i64(g.plane()).i32(g.txLog2()).i32(vecIn ? 1 : 0).i32(r)
                        .ptr(xa).ptr(ya).ptr(dya).ptr(of(saveMean)).ptr(partial.address));
            ctx.launch1d("dvp_bnr_grad_final", c, new KernelArgs().i64(c).i64(gy).i64(count).ptr(partial.address)
                    .ptr(of(gamma)).ptr(of(saveInvStd)).ptr(coef.address).ptr(orNull(dgamma)).ptr(orNull(dbeta)));
            if (nhwc)
                ctx.launch(bf16 ? "dvp_bnr_nhwc_grad_apply_bf16" : "dvp_bnr_nhwc_grad_apply", gx, gy, BLOCK, 0, new KernelArgs()
                        .i64(ng.pixels()).i64(ng.channels()).i64(ng.chunk()).i32(ng.txLog2()).i32(ng.vecFlag()).i32(r)
                        .ptr(xa).ptr(ya).ptr(dya).ptr(of(saveMean)).ptr(coef.address).ptr(dxa).ptr(dra));
            else
                ctx.launch(bf16 ? "dvp_bnr_grad_apply_bf16" : "dvp_bnr_grad_apply", gx, gy, BLOCK, 0, new KernelArgs().i64(g.n())
                        .i64(g.channels()).i64(g.plane()).i32(g.txLog2()).i32(vecAll ? 1 : 0).i32(r)
                        .ptr(xa).ptr(ya).ptr(dya).ptr(of(saveMean)).ptr(coef.address).ptr(dxa).ptr(dra));
        } finally {
            ctx.allocator.free(partial);
            ctx.allocator.free(coef);
        }
    }
}
