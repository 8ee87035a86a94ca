package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.autograd.Autograd;
import dvp.engine.spi.Backend;

/**
 * The differentiable F32 ↔ BF16 cast ({@code x.to(dtype)}), the one autocast inserts around a
 * convolution or GEMM: one {@link Backend#cast} forward. Its gradient is the upstream gradient cast
 * back to x's dtype, as PyTorch's {@code _to_copy} backward: the derivative of the rounding is
 * taken as 1 (a straight-through rule; the rounding itself is piecewise constant, so finite
 * differences cannot check it — CastsTest checks the rule directly).
 */
public final class Casts {
    private Casts() {}

    /**
     * x as {@code dtype} (F32 or BF16), a new tensor in x's layout (contiguous, or channels-last for a
     * channels-last x: autocast keeps channels-last activations channels-last; any other view is
     * copied contiguous first); x itself when it already has that dtype.
     */
    public static Tensor to(Tensor x, DType dtype) {
        if (x.dtype() == dtype) return x;
        Backend be = x.backend();
        DType from = x.dtype();
        Tensor cx = Layouts.dense(x);
        Tensor out = Layouts.emptyIn(cx, dtype, x.shape());
        be.cast(cx, out); // refuses anything but F32 <-> BF16, naming both tensors
        return Autograd.record("to(" + dtype + ")", out, gOut -> {
            Tensor g = Layouts.match(gOut, out), dx = Layouts.emptyIn(cx, from, x.shape());
            be.cast(g, dx);
            return new Tensor[]{dx};
        }, x);
    }
}
