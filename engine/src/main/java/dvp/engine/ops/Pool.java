package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.autograd.Autograd;
import dvp.engine.spi.Backend;
import dvp.engine.spi.PoolSpec;

/**
 * Max pooling and global average pooling (AdaptiveAvgPool2d(1) followed by flatten). Max pooling
 * keeps its input's layout (output, argmax indices and input gradient); the global pool's [N, C]
 * output is a plain matrix, its input gradient has the input's layout.
 */
public final class Pool {
    private Pool() {}

    public static Tensor maxPool2d(Tensor x, int kernel, int stride, int padding) {
        return maxPool2d(x, new PoolSpec(kernel, stride, padding));
    }

    public static Tensor maxPool2d(Tensor x, PoolSpec spec) {
        Check.rank("max_pool2d", "input", x, 4);
        int ho = spec.out(x.dim(2)), wo = spec.out(x.dim(3));
        if (ho <= 0 || wo <= 0) throw new IllegalArgumentException("max_pool2d: input " + Shape.str(x.shape()) + " too small for " + spec);
        Backend be = x.backend();
        Tensor cx = Layouts.dense(x);
        Tensor y = Layouts.emptyIn(cx, x.dtype(), x.dim(0), x.dim(1), ho, wo); // x's dtype: F32, or BF16 under autocast
        Tensor argmax = Layouts.emptyIn(cx, DType.I32, x.dim(0), x.dim(1), ho, wo);
        be.maxPool2dForward(cx, y, argmax, spec);
        return Autograd.record("max_pool2d", y, g -> {
            Tensor dx = Tensor.emptyLike(cx);
            be.maxPool2dBackward(Layouts.match(g, y), argmax, dx);
            return new Tensor[]{dx};
        }, x);
    }

    /** [N, C, H, W] → [N, C]: mean over the spatial dimensions. */
    public static Tensor globalAvgPool(Tensor x) {
        Check.rank("adaptive_avg_pool2d", "input", x, 4);
        Backend be = x.backend();
        Tensor cx = Layouts.dense(x);
        Tensor y = Tensor.empty(be, x.dtype(), x.dim(0), x.dim(1)); // x's dtype: F32, or BF16 under autocast
        be.globalAvgPoolForward(cx, y);
        return Autograd.record("adaptive_avg_pool2d", y, g -> {
            Tensor dx = Tensor.emptyLike(cx);
            be.globalAvgPoolBackward(g, dx);
            return new Tensor[]{dx};
        }, x);
    }
}
