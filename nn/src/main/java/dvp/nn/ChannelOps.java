package dvp.nn;

import dvp.engine.DType;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.autograd.Autograd;
import dvp.engine.ops.Check;
import dvp.engine.spi.Backend;

/**
 * Two small differentiable ops the layers need, composed from existing backend primitives (so
 * they run on every backend): a per-channel bias add and repeating a per-channel vector.
 */
final class ChannelOps {
    private ChannelOps() {}

    /** out[n,c,...] = x[n,c,...] + bias[c]; gradients: dx = dout, dbias[c] = Σ_{n,...} dout. */
    static Tensor addChannelBias(Tensor x, Tensor bias) {
        if (x.rank() < 2) throw new IllegalArgumentException("add_bias: input must be [N, C, ...], got " + Shape.str(x.shape()));
        Check.vector("add_bias", "bias", bias, x.dim(1));
        Check.sameBackend("add_bias", x, bias);
        Backend be = x.backend();
        Tensor cx = Check.contiguous(x);
        Tensor ones = Tensor.full(be, 1.0, x.dim(1));
        Tensor out = Tensor.empty(be, DType.F32, x.shape());
        be.channelAffine(cx, ones, bias, out);
        return Autograd.record("add_bias", out, g -> {
            Tensor db = null;
            if (bias.requiresGrad()) {
                db = Tensor.empty(be, DType.F32, bias.shape());
                be.channelSum(Check.contiguous(g), db);
            }
            return new Tensor[]{x.requiresGrad() ? g : null, db};
        }, x, bias);
    }

    /** v [C] repeated {@code times} times → [times·C] (torch's v.repeat(times)); dv = Σ over the copies. */
    static Tensor repeat(Tensor v, int times) {
        Check.rank("repeat", "input", v, 1);
        Backend be = v.backend();
        int c = v.dim(0);
        Tensor out = Tensor.empty(be, v.dtype(), times * c);
        Tensor rows = out.view(times, c);
        Tensor row = v.isContiguous() ? v.view(1, c) : v.copyContiguous().view(1, c);
        for (int j = 0; j < times; j++) be.copy(row, rows.narrow0(j, 1));
        return Autograd.record("repeat", out, g -> {
            Tensor dv = Tensor.empty(be, DType.F32, c);
            be.sumRows(Check.contiguous(g).view(times, c), dv);
            return new Tensor[]{dv};
        }, v);
    }
}
