package dvp.engine.cuda;

import dvp.engine.Tensor;

import static dvp.engine.cuda.Addr.of;
import static dvp.engine.cuda.Addr.orNull;

/**
 * Batch norm fused with a ResNet block's residual add and ReLU (kernels/src/main/cuda/bn_relu.cu):
 * forward = one read of x for both statistics, one pass reading x (+ residual) and writing y;
 * backward = one read of dy, y (the ReLU mask) and x for both per-channel sums, one pass writing dx
 * (+ dresidual). Always dvp's own kernels (cuDNN's fused BN + add + activation,
 * cudnnBatchNormalizationForwardTrainingEx, is not bound).
 * Saved statistics follow {@link CudaBatchNorm}'s convention (batch mean, 1/sqrt(biased var + eps)),
 * so the unfused backward could consume them too. NCHW contiguous only. CPU reference:
 * CpuBatchNormRelu (the unfused primitives composed). Verified in simulation, not on hardware.
 */
final class CudaBatchNormRelu {
    /** Threads per block (DVP_BLOCK) and float4 quads per thread the geometry aims for. */
    static final int BLOCK = 256, QPT = 4;

    private CudaBatchNormRelu() {}

    /**
     * The launch geometry, from the shape alone: block (c, s) = channel c of TY = BLOCK / TX
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
                throw new IllegalArgumentException(op + ": input " + dvp.engine.Shape.str(x.shape()) + " exceeds one launch's grid ("
                        + c + " channels, " + gy + " image slices of " + ty + ")");
            return new Geometry(n, c, plane, txLog2, (int) c, (int) gy);
        }
    }

    /** Why channels-last is refused here (see MemoryFormat.requireNchwMemory). */
    static final String NCHW_ONLY = "the fused batch norm + ReLU kernels index NCHW only; Norm.batchNormReluTrain runs channels-last as the unfused batch norm, add and ReLU";

    static void trainForward(CudaContext ctx, Tensor x, Tensor residual, Tensor gamma, Tensor beta, Tensor runningMean,
                             Tensor runningVar, float momentum, float eps, boolean relu, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        String op = "batchNormReluTrainForward";
        Addr.f32(op, x, residual, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd);
        dvp.engine.MemoryFormat.requireNchwMemory(op, CudaBatchNormRelu.NCHW_ONLY, x, residual, y);
        long count = (long) x.dim(0) * CudaElementwise.planeOf(x);
        if (count < 2 && runningVar != null)
            throw new IllegalArgumentException("batch_norm_relu: expected more than 1 value per channel when training, got input "
                    + dvp.engine.Shape.str(x.shape()));
        if ((runningMean == null) != (runningVar == null))
            throw new IllegalArgumentException("batch_norm_relu: running_mean and running_var must be given together");
        // the unfused backward (cuDNN's) reads the forward's eps from here; this forward's statistics are dvp's own
        ((CudaStorage) saveInvStd.storage()).bnEps = eps;
        if (x.numel() == 0) return;
        Geometry g = Geometry.of(op, x);
        int c = x.dim(1);
        long parts = (long) g.gridX() * g.gridY();
        CachingAllocator.Block partial = ctx.scratch(16 * parts), coef = ctx.scratch(8L * c); // scale[c] + shift[c]
        long scale = coef.address, shift = coef.address + 4L * c;
        try {
            ctx.launch("dvp_bnr_stats_partials", g.gridX(), g.gridY(), BLOCK, 0,
                    new KernelArgs().i64(g.n()).i64(g.channels()).i64(g.plane()).i32(g.txLog2()).i32(CudaOfd.sameQuadPhase(of(x)) ? 1 : 0)
                            .ptr(of(x)).ptr(partial.address));
            ctx.launch1d("dvp_bnr_stats_final", c, new KernelArgs().i64(c).i64(g.gridY()).i64(g.plane()).i64(count).f32(eps).f32(momentum)
                    .ptr(partial.address).ptr(of(x)).ptr(of(gamma)).ptr(of(beta)).ptr(of(saveMean)).ptr(of(saveInvStd))
                    .ptr(orNull(runningMean)).ptr(orNull(runningVar)).ptr(scale).ptr(shift));
            boolean vec = residual == null ? CudaOfd.sameQuadPhase(of(x), of(y)) : CudaOfd.sameQuadPhase(of(x), of(y), of(residual));
            ctx.launch("dvp_bnr_apply", g.gridX(), g.gridY(), BLOCK, 0, new KernelArgs().i64(g.n()).i64(g.channels()).i64(g.plane())
                    .i32(g.txLog2()).i32(vec ? 1 : 0).i32(relu ? 1 : 0).ptr(of(x)).ptr(orNull(residual)).ptr(scale).ptr(shift).ptr(of(y)));
        } finally {
            ctx.allocator.free(partial);
            ctx.allocator.free(coef);
        }
    }

    static void trainBackward(CudaContext ctx, Tensor x, Tensor y, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                              boolean relu, Tensor dx, Tensor dresidual, Tensor dgamma, Tensor dbeta) {
        String op = "batchNormReluTrainBackward";
        dvp.engine.MemoryFormat.requireNchwMemory(op, CudaBatchNormRelu.NCHW_ONLY, x, y, dy, dx, dresidual);
        if (relu && y == null) throw new IllegalArgumentException("batch_norm_relu backward: the ReLU mask needs the forward's output y");
        Addr.f32(op, x, relu ? y : null, dy, gamma, saveMean, saveInvStd, dx, dresidual, dgamma, dbeta);
        if (x.numel() == 0) return;
        Geometry g = Geometry.of(op, x);
        int c = x.dim(1);
        long count = (long) x.dim(0) * g.plane();
        long parts = (long) g.gridX() * g.gridY();
        long yAddr = relu ? of(y) : 0;
        CachingAllocator.Block partial = ctx.scratch(16 * parts), coef = ctx.scratch(12L * c); // (a, b, shift) per channel
        try {
            boolean vecIn = relu ? CudaOfd.sameQuadPhase(of(x), of(dy), yAddr) : CudaOfd.sameQuadPhase(of(x), of(dy));
            ctx.launch("dvp_bnr_grad_partials", g.gridX(), g.gridY(), BLOCK, 0, new KernelArgs().i64(g.n()).i64(g.channels())
                    .i64(g.plane()).i32(g.txLog2()).i32(vecIn ? 1 : 0).i32(relu ? 1 : 0).ptr(of(x)).ptr(yAddr).ptr(of(dy)).ptr(of(saveMean)).ptr(partial.address));
            ctx.launch1d("dvp_bnr_grad_final", c, new KernelArgs().i64(c).i64(g.gridY()).i64(count).ptr(partial.address)
                    .ptr(of(gamma)).ptr(of(saveInvStd)).ptr(coef.address).ptr(orNull(dgamma)).ptr(orNull(dbeta)));
            boolean vec = vecIn && CudaOfd.sameQuadPhase(of(x), of(dx)) && (dresidual == null || CudaOfd.sameQuadPhase(of(x), of(dresidual)));
            ctx.launch("dvp_bnr_grad_apply", g.gridX(), g.gridY(), BLOCK, 0, new KernelArgs().i64(g.n()).i64(g.channels())
                    .i64(g.plane()).i32(g.txLog2()).i32(vec ? 1 : 0).i32(relu ? 1 : 0).ptr(of(x)).ptr(yAddr).ptr(of(dy)).ptr(of(saveMean)).ptr(coef.address).ptr(of(dx)).ptr(orNull(dresidual)));
        } finally {
            ctx.allocator.free(partial);
            ctx.allocator.free(coef);
        }
    }
}
