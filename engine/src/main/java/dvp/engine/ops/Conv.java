package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.autograd.Autograd;
import dvp.engine.spi.Backend;
import dvp.engine.spi.ConvSpec;

/**
 * 2-D convolution without bias (every ResNet conv is followed by BN). A channels-last input gives a
 * channels-last output (and input gradient); the weight is always OIHW (contiguous), whatever the
 * input's layout: dvp does not convert weights (PyTorch's {@code model.to(memory_format=...)} would).
 */
public final class Conv {
    private Conv() {}

    public static Tensor conv2d(Tensor x, Tensor w, int stride, int padding, int groups) {
        return conv2d(x, w, ConvSpec.of(stride, padding, groups));
    }

    public static Tensor conv2d(Tensor x, Tensor w, ConvSpec spec) {
        Check.rank("conv2d", "input", x, 4);
        Check.rank("conv2d", "weight", w, 4);
        Check.sameBackend("conv2d", x, w);
        int groups = spec.groups();
        if (x.dim(1) != w.dim(1) * groups || w.dim(0) % groups != 0)
            throw new IllegalArgumentException("conv2d: input " + Shape.str(x.shape()) + " and weight " + Shape.str(w.shape())
                    + " do not fit groups=" + groups + " (need C_in = weight[1]*groups and C_out divisible by groups)");
        int ho = spec.outH(x.dim(2), w.dim(2)), wo = spec.outW(x.dim(3), w.dim(3));
        if (ho <= 0 || wo <= 0)
            throw new IllegalArgumentException("conv2d: input " + Shape.str(x.shape()) + " is smaller than kernel " + Shape.str(w.shape())
                    + " with padding " + spec.padH() + "x" + spec.padW());
        if (Autocast.lowers(x, w)) // bf16 in, fp32 accumulation, bf16 out, kept bf16 (see Autocast)
            return conv2d(Casts.to(x, DType.BF16), Casts.to(w, DType.BF16), spec);
        Backend be = x.backend();
        Tensor cx = Layouts.dense(x), cw = Check.contiguous(w);
        Tensor y = Layouts.emptyIn(cx, x.dtype(), x.dim(0), w.dim(0), ho, wo);
        be.conv2dForward(cx, cw, y, spec);
        return Autograd.record("conv2d", y, gOut -> {
            Tensor g = Layouts.match(gOut, y), dx = null, dw = null;
            if (x.requiresGrad()) {
                dx = Tensor.emptyLike(cx);
                be.conv2dBackwardData(g, cw, dx, spec);
            }
            if (w.requiresGrad()) {
                dw = Tensor.empty(be, w.dtype(), w.shape());
                be.conv2dBackwardFilter(cx, g, dw, spec);
            }
            return new Tensor[]{dx, dw};
        }, x, w);
    }
}
