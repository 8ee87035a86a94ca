package dvp.engine.cuda;

import dvp.engine.MemoryFormat;
import dvp.engine.Tensor;

/**
 * The memory order a layout-aware CUDA primitive runs in, and the (images, channels, plane) view its
 * per-channel kernels (batchnorm.cu, reduce.cu's channel partials, elementwise.cu's channel affine)
 * take: the element of image {@code img}, channel c, position p inside the plane sits at
 * {@code (img·C + c)·plane + p}. NCHW: images = N, plane = H·W. Channels-last [N, C, H, W] is the
 * same formula with images = N·H·W pixels and plane = 1 (channel stride 1), so those kernels need
 * no second version, and since the per-channel element order j = img·plane + p is the NCHW order in
 * both, their reductions add in the same order: channels-last results are bit-identical to NCHW.
 */
final class CudaLayout {
    private CudaLayout() {}

    /**
     * Whether the call runs channels-last (x has channels-last strides); checks that the other
     * activations share x's memory order, naming the op and the layouts when they do not.
     */
    static boolean channelsLast(String op, Tensor x, Tensor... others) {
        return MemoryFormat.common(op, x, others) == MemoryFormat.CHANNELS_LAST;
    }

    /** Whether x has channels-last strides (no checks; for helpers whose callers checked). */
    static boolean channelsLast(Tensor x) { return x.rank() == 4 && x.isChannelsLast(); }

    /** The channel stride in elements: the plane H·W (at least 1) for NCHW, 1 for channels-last. */
    static long plane(Tensor x) { return channelsLast(x) ? 1 : CudaElementwise.planeOf(x); }

    /** The images of the view: N for NCHW, N·H·W pixels for channels-last. */
    static long images(Tensor x) { return channelsLast(x) ? (long) x.dim(0) * x.dim(2) * x.dim(3) : x.dim(0); }
}
