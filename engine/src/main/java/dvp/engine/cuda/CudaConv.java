package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.cuda.ffm.Cudnn;
import dvp.engine.spi.ConvSpec;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dvp.engine.cuda.Addr.of;

/**
 * Convolutions through cuDNN's legacy API, with groups: fp32, or bf16 x/w/y with fp32 compute
 * (cuDNN's PSEUDO_BFLOAT16_CONFIG: data BFLOAT16, convolution descriptor FLOAT; compute capability
 * 8.0+; the output is rounded once to bf16); activations NCHW or channels-last (NHWC tensor
 * descriptors, the layout of x, resp. dy for backward-data), filters always KCRS (OIHW,
 * {@code CUDNN_TENSOR_NCHW} filter format) whatever the activations' layout; dtype and layout are
 * part of the problem, so each is autotuned on its own. A {@link Plan} per problem holds
 * the descriptors; the algorithm of each call comes from {@link CudaConvAlgorithms} (autotuned once
 * per problem and direction, or cuDNN's heuristics), with its workspace size; the workspace itself
 * is one buffer shared by all convolutions ({@link CudaContext#workspace}). Math type: FMA (true
 * fp32) unless TF32 is enabled; bf16 uses DEFAULT_MATH (tensor cores allowed, as PyTorch's
 * ConvolutionDescriptor leaves it for bf16). CPU reference: CpuConv. UNVERIFIED on a GPU.
 */
final class CudaConv {
    /** Upper bound on a chosen algorithm's workspace; fixed so the choice does not depend on free memory. */
    static final long MAX_WORKSPACE = 512L << 20;

    private CudaConv() {}

    /** The problem: shapes, strides/pads/groups (dilation 1), data type, math type (TF32 or not), activation layout. */
    private record Key(List<Integer> x, List<Integer> w, ConvSpec spec, DType dtype, boolean tf32, boolean nhwc) {}

    static final class Plan {
        final Key key;
        final MemorySegment xDesc, wDesc, yDesc, conv;

        Plan(Key key, MemorySegment xDesc, MemorySegment wDesc, MemorySegment yDesc, MemorySegment conv) {
            this.key = key;
            this.xDesc = xDesc;
            this.wDesc = wDesc;
            this.yDesc = yDesc;
            this.conv = conv;
        }
    }

    private static final Map<Key, Plan> PLANS = new HashMap<>();

    private static List<Integer> dims(int[] s) { return List.of(s[0], s[1], s[2], s[3]); }

    /** The one dtype of a convolution's three tensors: F32, or BF16 (Backend's conv contract). */
    static DType dtype(String op, Tensor a, Tensor b, Tensor c) {
        DType d = a.dtype();
        if ((d != DType.F32 && d != DType.BF16) || b.dtype() != d || c.dtype() != d)
            throw new IllegalArgumentException(op + ": tensors must be all F32 or all BF16, got " + a.describe() + ", " + b.describe()
                    + " and " + c.describe());
        return d;
    }

    private static synchronized Plan plan(CudaContext ctx, int[] xs, int[] ws, ConvSpec spec, DType dtype, boolean nhwc) {
        boolean bf16 = dtype == DType.BF16, tf32 = ctx.tf32 && !bf16; // TF32 concerns fp32 data only
        return PLANS.computeIfAbsent(new Key(dims(xs), dims(ws), spec, dtype, tf32, nhwc), k -> {
            int ho = spec.outH(xs[2], ws[2]), wo = spec.outW(xs[3], ws[3]);
            int data = bf16 ? Cudnn.DATA_BFLOAT16 : Cudnn.DATA_FLOAT;
            int layout = nhwc ? Cudnn.TENSOR_NHWC : Cudnn.TENSOR_NCHW; // sizes stay n, c, h, w in both
            MemorySegment xd = ctx.dnn.tensor4d(layout, data, xs[0], xs[1], xs[2], xs[3]);
            MemorySegment wd = ctx.dnn.filter4d(data, Cudnn.TENSOR_NCHW, ws[0], ws[1], ws[2], ws[3]);
            MemorySegment yd = ctx.dnn.tensor4d(layout, data, xs[0], ws[0], ho, wo);
            // compute type FLOAT for both: FLOAT_CONFIG and PSEUDO_BFLOAT16_CONFIG (fp32 accumulation)
            MemorySegment cd = ctx.dnn.convolution2d(spec.padH(), spec.padW(), spec.strideH(), spec.strideW(), Cudnn.DATA_FLOAT,
                    spec.groups(), bf16 || tf32 ? Cudnn.DEFAULT_MATH : Cudnn.FMA_MATH);
            return new Plan(k, xd, wd, yd, cd);
        });
    }

    static void forward(CudaContext ctx, Tensor x, Tensor w, Tensor y, ConvSpec spec) {
        Plan p = plan(ctx, x.shape(), w.shape(), spec, dtype("conv2dForward", x, w, y), CudaLayout.channelsLast("conv2dForward", x, y));
        Cudnn.Algo a = CudaConvAlgorithms.choose(ctx, p.key, Cudnn.Direction.FORWARD, p.xDesc, of(x), p.wDesc, of(w), p.conv, p.yDesc, of(y)).algo();
        long ws = ctx.workspace(a.workspace());
        ctx.dnn.convolutionForward(p.xDesc, of(x), p.wDesc, of(w), p.conv, a.algo(), ws, a.workspace(), p.yDesc, of(y));
    }

    static void backwardData(CudaContext ctx, Tensor dy, Tensor w, Tensor dx, ConvSpec spec) {
        Plan p = plan(ctx, dx.shape(), w.shape(), spec, dtype("conv2dBackwardData", dy, w, dx), CudaLayout.channelsLast("conv2dBackwardData", dy, dx));
        Cudnn.Algo a = CudaConvAlgorithms.choose(ctx, p.key, Cudnn.Direction.BACKWARD_DATA, p.wDesc, of(w), p.yDesc, of(dy), p.conv, p.xDesc, of(dx)).algo();
        long ws = ctx.workspace(a.workspace());
        ctx.dnn.convolutionBackwardData(p.wDesc, of(w), p.yDesc, of(dy), p.conv, a.algo(), ws, a.workspace(), p.xDesc, of(dx));
    }

    static void backwardFilter(CudaContext ctx, Tensor x, Tensor dy, Tensor dw, ConvSpec spec) {
        Plan p = plan(ctx, x.shape(), dw.shape(), spec, dtype("conv2dBackwardFilter", x, dy, dw), CudaLayout.channelsLast("conv2dBackwardFilter", x, dy));
        Cudnn.Algo a = CudaConvAlgorithms.choose(ctx, p.key, Cudnn.Direction.BACKWARD_FILTER, p.xDesc, of(x), p.yDesc, of(dy), p.conv, p.wDesc, of(dw)).algo();
        long ws = ctx.workspace(a.workspace());
        ctx.dnn.convolutionBackwardFilter(p.xDesc, of(x), p.yDesc, of(dy), p.conv, a.algo(), ws, a.workspace(), p.wDesc, of(dw));
    }
}
