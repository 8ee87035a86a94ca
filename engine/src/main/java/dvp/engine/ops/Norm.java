package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.autograd.Autograd;
import dvp.engine.spi.Backend;

/** Batch norm (train and eval) and row-wise L2 normalisation. */
public final class Norm {
    private Norm() {}

    private static void checkBn(String op, Tensor x, Tensor gamma, Tensor beta, Tensor rm, Tensor rv) {
        if (x.rank() < 2) throw new IllegalArgumentException(op + ": input must be [N, C, ...], got " + dvp.engine.Shape.str(x.shape()));
        int c = x.dim(1);
        Check.vector(op, "weight", gamma, c);
        Check.vector(op, "bias", beta, c);
        Check.vector(op, "running_mean", rm, c);
        Check.vector(op, "running_var", rv, c);
        Check.sameBackend(op, x, gamma, beta, rm, rv);
    }

    /**
     * Training-mode batch norm: normalises with the batch's statistics and, when the running
     * buffers are given, updates them in place (momentum, unbiased variance, as PyTorch).
     */
    public static Tensor batchNormTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                        float momentum, float eps) {
        checkBn("batch_norm", x, gamma, beta, runningMean, runningVar);
        Backend be = x.backend();
        int c = x.dim(1);
        Tensor cx = Layouts.dense(x); // y and dx keep x's layout (contiguous or channels-last) and dtype (F32, or BF16 under autocast)
        Tensor y = Layouts.emptyIn(cx, x.dtype(), x.shape());
        Tensor mean = Tensor.empty(be, DType.F32, c), invStd = Tensor.empty(be, DType.F32, c);
        be.batchNormTrainForward(cx, gamma, beta, runningMean, runningVar, momentum, eps, y, mean, invStd);
        return Autograd.record("batch_norm", y, gOut -> {
            Tensor g = Layouts.match(gOut, y);
            Tensor dx = Layouts.emptyIn(cx, x.dtype(), x.shape());
            Tensor dg = gamma.requiresGrad() ? Tensor.empty(be, DType.F32, c) : null;
            Tensor db = beta.requiresGrad() ? Tensor.empty(be, DType.F32, c) : null;
            be.batchNormTrainBackward(cx, g, gamma, mean, invStd, dx, dg, db);
            return new Tensor[]{x.requiresGrad() ? dx : null, dg, db};
        }, x, gamma, beta);
    }

    /**
     * Training-mode batch norm, residual add and ReLU fused: {@code act(batchNormTrain(x, ...) +
     * residual)} with act = ReLU when {@code relu}, else the identity (a ResNet block's pre-ReLU
     * output, which OFD distils); residual may be null. Same statistics, running-statistics update
     * and gradients as the unfused ops, in two passes over the data each way on a device backend
     * (Backend.batchNormReluTrainForward). Recorded as one node: "batch_norm_relu", or without ReLU
     * "batch_norm_add" ("batch_norm" without a residual either), so a tape reader finds every ReLU
     * by name ("relu" or "batch_norm_relu").
     *
     * <p>Layout and dtype: x contiguous or channels-last (any other view is copied contiguous
     * first); y, dx and dresidual are allocated in x's layout and x's dtype (F32, or BF16 on a
     * backend that supportsBf16Compute: bf16 storage, fp32 statistics and arithmetic); a residual or
     * upstream gradient in the other layout is converted to x's. The residual must have x's dtype.
     */
    public static Tensor batchNormReluTrain(Tensor x, Tensor residual, Tensor gamma, Tensor beta, Tensor runningMean,
                                            Tensor runningVar, float momentum, float eps, boolean relu) {
        String op = relu ? "batch_norm_relu" : residual != null ? "batch_norm_add" : "batch_norm";
        checkBn(op, x, gamma, beta, runningMean, runningVar);
        if (residual != null) Check.sameShape(op + " (residual)", x, residual);
        DType dt = x.dtype();
        if (dt != DType.F32 && !(dt == DType.BF16 && x.backend().supportsBf16Compute()))
            throw new IllegalArgumentException(op + ": input " + x.describe() + " must be F32"
                    + (dt == DType.BF16 ? " (BF16 needs a backend with bf16 compute; " + x.backend().name() + " computes in F32)" : " or BF16"));
        if (residual != null && residual.dtype() != dt)
            throw new IllegalArgumentException(op + ": residual " + residual.describe() + " must have the input's dtype, "
                    + x.describe());
        Backend be = x.backend();
        int c = x.dim(1);
        Tensor cx = Layouts.dense(x); // y, dx and dresidual keep x's layout (contiguous or channels-last)
        Tensor cr = residual == null ? null : Layouts.match(Layouts.dense(residual), cx);
        Tensor y = Layouts.emptyIn(cx, dt, x.shape());
        Tensor mean = Tensor.empty(be, DType.F32, c), invStd = Tensor.empty(be, DType.F32, c);
        be.batchNormReluTrainForward(cx, cr, gamma, beta, runningMean, runningVar, momentum, eps, relu, y, mean, invStd);
        Tensor[] inputs = residual == null ? new Tensor[]{x, gamma, beta} : new Tensor[]{x, gamma, beta, residual};
        return Autograd.record(op, y, gOut -> {
            Tensor g = Layouts.match(gOut, y); // gOut has y's dtype (Autograd casts every gradient to its tensor's)
            Tensor dx = Layouts.emptyIn(cx, dt, x.shape());
            Tensor dg = gamma.requiresGrad() ? Tensor.empty(be, DType.F32, c) : null;
            Tensor db = beta.requiresGrad() ? Tensor.empty(be, DType.F32, c) : null;
            Tensor dr = residual != null && residual.requiresGrad() ? Layouts.emptyIn(cx, dt, x.shape()) : null;
            be.batchNormReluTrainBackward(cx, relu ? y : null, g, gamma, mean, invStd, relu, dx, dr, dg, db);
            Tensor dxOut = x.requiresGrad() ? dx : null;
            return residual == null ? new Tensor[]{dxOut, dg, db} : new Tensor[]{dxOut, dg, db, dr};
        }, inputs);
    }

    /** Eval-mode batch norm with the running statistics: y = (x - rm) / sqrt(rv + eps) * gamma + beta. */
    public static Tensor batchNormEval(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps) {
        checkBn("batch_norm(eval)", x, gamma, beta, runningMean, runningVar);
        Backend be = x.backend();
        int c = x.dim(1);
        Tensor cx = Layouts.dense(x); // y, dx and xhat keep x's layout
        Tensor inv = Tensor.empty(be, DType.F32, c), scale = Tensor.empty(be, DType.F32, c), shift = Tensor.empty(be, DType.F32, c);
        be.rsqrtEps(runningVar, eps, inv);
        be.mul(gamma, inv, scale);
        be.mul(runningMean, scale, shift);
        be.axpby(1f, beta, -1f, shift, shift);
        Tensor y = Layouts.emptyIn(cx, x.dtype(), x.shape()); // x's dtype: F32, or BF16 under autocast
        be.channelAffine(cx, scale, shift, y);
        return Autograd.record("batch_norm(eval)", y, gOut -> {
            Tensor g = Layouts.match(gOut, y), dx = null, dg = null, db = null;
            if (x.requiresGrad()) {
                dx = Layouts.emptyIn(cx, x.dtype(), x.shape());
                be.channelAffine(g, scale, null, dx);
            }
            // the parameter gradients are fp32 sums: on BF16 activations over exact F32 copies
            Tensor g32 = gamma.requiresGrad() || beta.requiresGrad() ? f32(g) : null;
            if (gamma.requiresGrad()) {
                Tensor x32 = f32(cx);
                Tensor negMeanInv = Tensor.empty(be, DType.F32, c), xhat = Layouts.emptyIn(x32, DType.F32, x.shape());
                be.mul(runningMean, inv, negMeanInv);
                be.scaleShift(negMeanInv, -1f, 0f, negMeanInv);
                be.channelAffine(x32, inv, negMeanInv, xhat);
                dg = Tensor.empty(be, DType.F32, c);
                be.channelDot(g32, xhat, dg);
            }
            if (beta.requiresGrad()) {
                db = Tensor.empty(be, DType.F32, c);
                be.channelSum(g32, db);
            }
            return new Tensor[]{dx, dg, db};
        }, x, gamma, beta);
    }

    /** t itself when F32; a BF16 t as an exact F32 copy (contiguous; no autograd: inside backward rules). */
    private static Tensor f32(Tensor t) {
        if (t.dtype() != DType.BF16) return t;
        Tensor ct = Check.contiguous(t), out = Tensor.empty(t.backend(), DType.F32, t.shape());
        t.backend().cast(ct, out);
        return out;
    }

    /** Rows of x [N, d] scaled to unit L2 norm: x / max(||x||, eps) (torch.nn.functional.normalize, dim=1). */
    public static Tensor l2Normalize(Tensor xIn, float eps) {
        Tensor x = Autocast.fp32(xIn); // fp32 list (Autocast)
        Check.rank("normalize", "input", x, 2);
        Backend be = x.backend();
        Tensor cx = Check.contiguous(x);
        Tensor y = Tensor.empty(be, DType.F32, x.shape()), norms = Tensor.empty(be, DType.F32, x.dim(0));
        be.l2NormalizeForward(cx, eps, y, norms);
        return Autograd.record("normalize", y, g -> {
            Tensor dx = Tensor.empty(be, DType.F32, x.shape());
            be.l2NormalizeBackward(g, y, norms, eps, dx);
            return new Tensor[]{dx};
        }, x);
    }

    public static Tensor l2Normalize(Tensor x) { return l2Normalize(x, 1e-12f); }
}
