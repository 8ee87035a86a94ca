package dvp.engine.ops;

import dvp.engine.Tensor;
import dvp.engine.autograd.Autograd;
import dvp.engine.spi.Backend;

/** Whole-tensor reductions to a rank-0 scalar. */
public final class Reductions {
    private Reductions() {}

    public static Tensor sum(Tensor x) { return reduce("sum", x, 1f); }

    public static Tensor mean(Tensor x) { return reduce("mean", x, 1f / x.numel()); }

    private static Tensor reduce(String op, Tensor xIn, float factor) {
        Tensor x = Autocast.fp32(xIn); // fp32 list (Autocast): a BF16 input is summed as F32
        Backend be = x.backend();
        Tensor cx = Check.contiguous(x);
        Tensor out = Tensor.empty(be, x.dtype());
        be.sumAll(cx, out);
        if (factor != 1f) be.scaleShift(out, factor, 0f, out);
        return Autograd.record(op, out, g -> {
            Tensor dx = Tensor.empty(be, x.dtype(), x.shape());
            be.fill(dx, factor);
            be.scaleByScalarTensor(dx, g, dx);
            return new Tensor[]{dx};
        }, x);
    }
}
