package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.autograd.Autograd;
import dvp.engine.spi.Backend;

/** Matrix products: matmul with optional transposes, and linear (x @ W^T + b, PyTorch's [out, in] weight). */
public final class Linear {
    private Linear() {}

    public static Tensor matmul(Tensor a, Tensor b) { return matmul(a, false, b, false); }

    /** op(a) @ op(b) for 2-D a, b. */
    public static Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB) {
        Check.rank("matmul", "a", a, 2);
        Check.rank("matmul", "b", b, 2);
        Check.sameBackend("matmul", a, b);
        int m = transA ? a.dim(1) : a.dim(0), k = transA ? a.dim(0) : a.dim(1);
        int kb = transB ? b.dim(1) : b.dim(0), n = transB ? b.dim(0) : b.dim(1);
        if (k != kb)
            throw new IllegalArgumentException("matmul: inner dimensions differ: " + Shape.str(a.shape()) + (transA ? "^T" : "")
                    + " @ " + Shape.str(b.shape()) + (transB ? "^T" : ""));
        if (Autocast.lowers(a, b)) // bf16 in, fp32 accumulation, bf16 out, kept bf16 (see Autocast)
            return matmul(Casts.to(a, DType.BF16), transA, Casts.to(b, DType.BF16), transB);
        Backend be = a.backend();
        Tensor ca = Check.contiguous(a), cb = Check.contiguous(b);
        Tensor out = Tensor.empty(be, a.dtype(), m, n);
        be.matmul(ca, transA, cb, transB, out, 1f, 0f);
        return Autograd.record("matmul", out, g -> {
            Tensor da = null, db = null;
            if (a.requiresGrad()) {
                // C = A B: dA = dC B^T;  C = A^T B: dA = B dC^T
                da = Tensor.empty(be, a.dtype(), a.shape());
                if (!transA) be.matmul(g, false, cb, !transB, da, 1f, 0f);
                else be.matmul(cb, transB, g, true, da, 1f, 0f);
            }
            if (b.requiresGrad()) {
                // C = A B: dB = A^T dC;  C = A B^T: dB = dC^T A
                db = Tensor.empty(be, b.dtype(), b.shape());
                if (!transB) be.matmul(ca, !transA, g, false, db, 1f, 0f);
                else be.matmul(g, true, ca, transA, db, 1f, 0f);
            }
            return new Tensor[]{da, db};
        }, a, b);
    }

    /**
     * y = x @ weight^T + bias; x [N, in], weight [out, in], bias [out] or null. Under bf16 autocast
     * the product is BF16 and the fp32 bias promotes the sum to F32 (PyTorch's bf16 + fp32 = fp32;
     * PyTorch's autocast linear would round the biased sum to bf16 instead): so a model's logits
     * and projections are F32.
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        Check.rank("linear", "input", x, 2);
        Check.rank("linear", "weight", weight, 2);
        if (x.dim(1) != weight.dim(1))
            throw new IllegalArgumentException("linear: input " + Shape.str(x.shape()) + " does not match weight "
                    + Shape.str(weight.shape()) + " (expected input [N, " + weight.dim(1) + "])");
        Check.vector("linear", "bias", bias, weight.dim(0));
        Tensor y = matmul(x, false, weight, true);
        if (bias == null) return y;
        return addRowVector(y.dtype() == DType.BF16 && bias.dtype() == DType.F32 ? Casts.to(y, DType.F32) : y, bias);
    }

    /** out[r, :] = x[r, :] + v. */
    public static Tensor addRowVector(Tensor x, Tensor v) {
        Check.rank("add_row_vector", "input", x, 2);
        Check.vector("add_row_vector", "vector", v, x.dim(1));
        Backend be = x.backend();
        Tensor cx = Check.contiguous(x);
        Tensor out = Tensor.empty(be, x.dtype(), x.shape());
        be.addRowVector(cx, v, out);
        return Autograd.record("add_row_vector", out, g -> {
            Tensor dv = null;
            if (v.requiresGrad()) {
                dv = Tensor.empty(be, v.dtype(), v.shape());
                be.sumRows(g, dv);
            }
            return new Tensor[]{x.requiresGrad() ? g : null, dv};
        }, x, v);
    }
}
