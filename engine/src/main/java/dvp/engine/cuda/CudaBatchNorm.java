package dvp.engine.cuda;

import dvp.engine.Tensor;
import dvp.engine.cuda.ffm.Cudnn;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

import static dvp.engine.cuda.Addr.of;
import static dvp.engine.cuda.Addr.orNull;

/**
 * Training-mode batch norm, two implementations ({@link #path}): cuDNN's spatial batch norm by
 * default, or dvp's own deterministic kernels (batchnorm.cu) when switched off
 * ({@link CudaBackend#setCudnnBatchNorm}, -Ddvp.cuda.cudnnBatchNorm=false), when eps is below
 * CUDNN_BN_MIN_EPSILON (0.0 in cuDNN 9, so only for a negative or NaN eps), or when the loaded
 * cuDNN lacks its batch-norm functions. Both write the same saved statistics (batch mean,
 * 1/sqrt(biased var + eps)), so a forward by one and a backward by the other agree. CPU reference:
 * CpuBatchNorm; both paths are checked against it (BackendParityTest, CudaBatchNormPathsTest).
 * Activations (x, y, dy, dx) are all F32 or all BF16 (bf16 autocast: fp32 statistics and
 * arithmetic, one rounding at each bf16 store); gamma, beta and every statistic are F32.
 * UNVERIFIED on a GPU.
 */
final class CudaBatchNorm {
    private CudaBatchNorm() {}

    /** A BN input as cuDNN sees it: [n, c, plane, 1], NCHW or (channels-last) NHWC memory, FLOAT or BFLOAT16 data. */
    private record Shape4(int n, int c, int h, int w, boolean nhwc, boolean bf16) {}

    private record Descriptors(MemorySegment x, MemorySegment bn) {}

    private static final Map<Shape4, Descriptors> DESCRIPTORS = new HashMap<>();

    private static Shape4 shape(Tensor x) {
        int n = x.dim(0), c = x.dim(1);
        long plane = CudaElementwise.planeOf(x);
        if (plane > Integer.MAX_VALUE) throw new IllegalArgumentException("batch_norm: spatial size " + plane + " too large for cuDNN");
        return new Shape4(n, c, (int) plane, 1, CudaLayout.channelsLast(x), x.dtype() == dvp.engine.DType.BF16);
    }

    private static synchronized Descriptors descriptors(CudaContext ctx, Shape4 s) {
        return DESCRIPTORS.computeIfAbsent(s, k -> {
            // cuDNN's spatial BN takes NHWC descriptors natively ([N, C, H·W, 1] in either order), and
            // BFLOAT16 x/y/dy/dx with the derived FLOAT parameter descriptor (scale, bias, running and
            // saved statistics stay fp32; cudnn_ops.h: "type = (typeOf(x) == double) ? double : float")
            MemorySegment xd = ctx.dnn.tensor4d(k.nhwc ? Cudnn.TENSOR_NHWC : Cudnn.TENSOR_NCHW, k.bf16 ? Cudnn.DATA_BFLOAT16 : Cudnn.DATA_FLOAT,
                    k.n, k.c, k.h, k.w);
            return new Descriptors(xd, ctx.dnn.bnParamDescriptor(xd));
        });
    }

    /** Which implementation runs a batch norm. */
    enum Path { CUDNN, OWN_KERNELS }

    /**
     * cuDNN unless it is switched off, eps is below CUDNN_BN_MIN_EPSILON (compared in double, as
     * cuDNN receives it) or the loaded cuDNN has no batch-norm functions; else dvp's own kernels.
     */
    static Path path(CudaContext ctx, float eps) { return path(ctx.cudnnBatchNorm, eps, ctx.dnn); }

    static Path path(boolean cudnnBatchNorm, float eps, Cudnn dnn) {
        return cudnnBatchNorm && (double) eps >= Cudnn.BN_MIN_EPSILON && dnn.batchNormAvailable() ? Path.CUDNN : Path.OWN_KERNELS;
    }

    private static boolean useCudnn(CudaContext ctx, float eps) { return path(ctx, eps) == Path.CUDNN; }

    static void trainForward(CudaContext ctx, Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                             float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        Addr.bf16("batchNormTrainForward", x, y); // activations: F32, or BF16 under bf16 autocast
        Addr.f32("batchNormTrainForward", gamma, beta, runningMean, runningVar, saveMean, saveInvStd);
        CudaLayout.channelsLast("batchNormTrainForward", x, y);
        long count = (long) x.dim(0) * CudaElementwise.planeOf(x);
        if (count < 2 && runningVar != null)
            throw new IllegalArgumentException("batch_norm: expected more than 1 value per channel when training, got input "
                    + dvp.engine.Shape.str(x.shape()));
        // backward has no eps argument: remember it next to the saved statistics
        ((CudaStorage) saveInvStd.storage()).bnEps = eps;
        if ((runningMean == null) != (runningVar == null) || !useCudnn(ctx, eps)) {
            ownForward(ctx, x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd);
            return;
        }
        Descriptors d = descriptors(ctx, shape(x));
        ctx.dnn.batchNormForwardTraining(d.x, of(x), of(y), d.bn, of(gamma), of(beta), momentum, orNull(runningMean),
                orNull(runningVar), eps, of(saveMean), of(saveInvStd));
    }

    static void trainBackward(CudaContext ctx, Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                              Tensor dx, Tensor dgamma, Tensor dbeta) {
        Addr.bf16("batchNormTrainBackward", x, dy, dx);
        Addr.f32("batchNormTrainBackward", gamma, saveMean, saveInvStd, dgamma, dbeta);
        CudaLayout.channelsLast("batchNormTrainBackward", x, dy, dx);
        // cuDNN wants the forward's eps ("should be the same in forward and backward"); statistics
        // not saved by this backend's forward go to dvp's own kernels, which need no eps
        float eps = ((CudaStorage) saveInvStd.storage()).bnEps;
        if (Float.isNaN(eps) || !useCudnn(ctx, eps)) {
            ownBackward(ctx, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta);
            return;
        }
        int c = x.dim(1);
        // cuDNN always writes both parameter gradients: give it scratch where the caller wants none
        CachingAllocator.Block scratch = (dgamma == null || dbeta == null) ? ctx.scratch(Math.max(8, 8L * c)) : null;
        try {
            long dg = dgamma != null ? of(dgamma) : scratch.address;
            long db = dbeta != null ? of(dbeta) : scratch.address + 4L * c;
            Descriptors d = descriptors(ctx, shape(x));
            ctx.dnn.batchNormBackward(d.x, of(x), of(dy), of(dx), d.bn, of(gamma), dg, db, eps, of(saveMean), of(saveInvStd));
        } finally {
            if (scratch != null) ctx.allocator.free(scratch);
        }
    }

    /** Two-pass statistics (mean, then centered squares) in double, then y = x*scale + shift. */
    static void ownForward(CudaContext ctx, Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                           float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        int c = x.dim(1);
        long total = x.numel(), plane = CudaLayout.plane(x);
        CachingAllocator.Block tmp = ctx.scratch(Math.max(8, 16L * c)); // meanD[c] (double) + scale[c] + shift[c]
        long meanD = tmp.address, scale = tmp.address + 8L * c, shift = scale + 4L * c;
        try {
            CudaReduce.Partials p1 = CudaReduce.channelPartials(ctx, CudaReduce.MODE_SUM, x, null, 0, null, null);
            ctx.launch1d("dvp_bn_mean", c, new KernelArgs().i64(c).i64(p1.slices()).i64(p1.count()).ptr(p1.block().address)
                    .ptr(meanD).ptr(of(saveMean)));
            ctx.allocator.free(p1.block());
            CudaReduce.Partials p2 = CudaReduce.channelPartials(ctx, CudaReduce.MODE_CENTERED_SQ, x, null, meanD, null, null);
            ctx.launch1d("dvp_bn_var", c, new KernelArgs().i64(c).i64(p2.slices()).i64(p2.count()).f32(eps).f32(momentum)
                    .ptr(p2.block().address).ptr(meanD).ptr(of(gamma)).ptr(of(beta)).ptr(of(saveInvStd))
                    .ptr(orNull(runningMean)).ptr(orNull(runningVar)).ptr(scale).ptr(shift));
            ctx.allocator.free(p2.block());
            ctx.launch1d(x.dtype() == dvp.engine.DType.BF16 ? "dvp_bn_apply_bf16" : "dvp_bn_apply", total, new KernelArgs().i64(total).i64(c).i64(plane).ptr(of(x)).ptr(scale).ptr(shift).ptr(of(y)));
        } finally {
            ctx.allocator.free(tmp);
        }
    }

    static void ownBackward(CudaContext ctx, Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                            Tensor dx, Tensor dgamma, Tensor dbeta) {
        int c = x.dim(1);
        long total = x.numel(), plane = CudaLayout.plane(x);
        CachingAllocator.Block sums = ctx.scratch(Math.max(16, 16L * c));
        try {
            CudaReduce.Partials p = CudaReduce.channelPartials(ctx, CudaReduce.MODE_BN_BACKWARD, x, dy, 0, saveMean, saveInvStd);
            ctx.launch1d("dvp_bn_backward_final", c, new KernelArgs().i64(c).i64(p.slices()).ptr(p.block().address).ptr(sums.address)
                    .ptr(orNull(dgamma)).ptr(orNull(dbeta)));
            ctx.allocator.free(p.block());
            ctx.launch1d(x.dtype() == dvp.engine.DType.BF16 ? "dvp_bn_backward_dx_bf16" : "dvp_bn_backward_dx", total, new KernelArgs().i64(total).i64(c).i64(plane).i64(p.count()).ptr(of(x)).ptr(of(dy))
                    .ptr(of(gamma)).ptr(of(saveMean)).ptr(of(saveInvStd)).ptr(sums.address).ptr(of(dx)));
        } finally {
            ctx.allocator.free(sums);
        }
    }
}
