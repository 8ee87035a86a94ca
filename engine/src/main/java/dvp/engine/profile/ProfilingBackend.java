package dvp.engine.profile;

import dvp.engine.DType;
import dvp.engine.Device;
import dvp.engine.Tensor;
import dvp.engine.spi.Availability;
import dvp.engine.spi.Backend;
import dvp.engine.spi.ComputeSettings;
import dvp.engine.spi.ConvSpec;
import dvp.engine.spi.PoolSpec;
import dvp.engine.spi.Storage;

import java.lang.foreign.MemorySegment;

/**
 * A {@link Backend} decorator that reports every primitive call to an attached {@link Profiler}
 * and otherwise passes it straight through.
 *
 * <p><b>Why a decorator.</b> Every primitive call — from the ops, their backward rules, the
 * optimizer ({@code sgdUpdate}), gradient accumulation, {@code Tensor.copyFrom} — goes through
 * {@code tensor.backend()}, so wrapping the backend sees all of them without touching one op or
 * kernel, and a primitive added later is one more forwarding method here (the compiler insists).
 * A hook in the ops layer would miss the direct callers and need a line in every op.
 *
 * <p><b>How tensors route through it.</b> {@link #allocate} delegates to the wrapped backend, so
 * memory and kernels are exactly the wrapped backend's; {@link Tensor#empty} remembers the
 * backend it was called with, so a tensor created through this decorator reports it from
 * {@code backend()} (and so do its views), while {@code storage().backend()} stays the owner.
 * Build the model, optimizer state and inputs with this backend current ({@code
 * Backends.use(profiling)}) and every later call is seen. Tensors made directly on the wrapped
 * backend still mix with them (same memory), but calls dispatched through those are not seen.
 *
 * <p><b>Cost when off.</b> Each forwarding method reads one volatile field and, when no profiler
 * is attached, calls the wrapped backend with the same arguments: no allocation, no clock. Not
 * wrapping at all (the default everywhere) costs nothing.
 */
public final class ProfilingBackend implements Backend {
    private final Backend inner;
    private volatile Profiler profiler;

    private ProfilingBackend(Backend inner) { this.inner = inner; }

    /** A decorator around {@code b}; {@code b} itself when it already is one. */
    public static ProfilingBackend wrap(Backend b) {
        return b instanceof ProfilingBackend p ? p : new ProfilingBackend(b);
    }

    /** The backend that owns the memory and runs the kernels. */
    public Backend inner() { return inner; }

    /** Attaches a new profiling session; one at a time per decorator. */
    public synchronized Profiler start(Profiler.Options options) {
        if (profiler != null) throw new IllegalStateException("a profiler is already attached to this backend; close it first");
        Profiler p = new Profiler(this, options);
        profiler = p;
        return p;
    }

    /** The attached session, or null. */
    public Profiler profiler() { return profiler; }

    synchronized void detach(Profiler p) {
        if (profiler == p) profiler = null;
    }

    synchronized void reattach(Profiler p) {
        if (profiler != null && profiler != p) throw new IllegalStateException("another profiler is attached to this backend");
        profiler = p;
    }

    // ---- identity: the wrapped backend's ----------------------------------------------------------------

    @Override public String name() { return inner.name(); }

    @Override public Availability availability() { return inner.availability(); }

    @Override public int priority() { return inner.priority(); }

    @Override public Device device() { return inner.device(); }

    @Override public boolean simulated() { return inner.simulated(); }

    @Override public boolean supportsBf16Compute() { return inner.supportsBf16Compute(); }

    @Override public void configure(ComputeSettings settings) { inner.configure(settings); }

    @Override public ComputeSettings computeSettings() { return inner.computeSettings(); }

    @Override public Storage allocate(DType dtype, long numel) { return inner.allocate(dtype, numel); }

    @Override public void synchronize() { inner.synchronize(); }

    @Override public String toString() { return "profiling(" + inner.name() + ")"; }

    // ---- argument names (tensor arguments in declaration order; outputs from the index given) --------------

    private static final String[] SRC = {"src"}, SRC_DST = {"src", "dst"}, DST = {"dst"}, A_B_OUT = {"a", "b", "out"}, A_OUT = {"a", "out"},
            A_S_OUT = {"a", "s", "out"}, X_OUT = {"x", "out"}, Y_DY_DX = {"y", "dy", "dx"}, X_V_OUT = {"x", "v", "out"},
            X_SCALE_SHIFT_OUT = {"x", "scale", "shift", "out"}, X_Y_OUT = {"x", "y", "out"},
            MATMUL = {"a", "b", "out_in", "out"}, CONV_FWD = {"x", "w", "y"}, CONV_DATA = {"dy", "w", "dx"}, CONV_FILTER = {"x", "dy", "dw"},
            BN_FWD = {"x", "gamma", "beta", "running_mean", "running_var", "y", "save_mean", "save_invstd", "running_mean'", "running_var'"},
            BN_BWD = {"x", "dy", "gamma", "save_mean", "save_invstd", "dx", "dgamma", "dbeta"},
            BNR_FWD = {"x", "residual", "gamma", "beta", "running_mean", "running_var", "y", "save_mean", "save_invstd",
                    "running_mean'", "running_var'"},
            BNR_BWD = {"x", "y", "dy", "gamma", "save_mean", "save_invstd", "dx", "dresidual", "dgamma", "dbeta"},
            POOL_FWD = {"x", "y", "argmax"}, POOL_BWD = {"dy", "argmax", "dx"}, X_Y = {"x", "y"}, DY_DX = {"dy", "dx"},
            L2_FWD = {"x", "y", "norms"}, L2_BWD = {"dy", "y", "norms", "dx"},
            CE_FWD = {"logits", "labels", "loss", "probs"}, CE_BWD = {"probs", "labels", "grad_out", "dlogits"},
            INFONCE = {"q", "k_pos", "queue", "loss", "accuracy", "dq"}, ENQUEUE = {"keys", "ptr", "queue", "ptr'"},
            GATHER = {"x", "index", "out"},
            OFD_FWD = {"s", "t", "margin", "loss"}, OFD_BWD = {"s", "t", "margin", "grad_out", "ds"},
            SGD = {"param", "grad", "momentum_buf", "param'", "momentum_buf'"}, LR = {"lr"}, NONE = {};

    private static String conv(ConvSpec s) {
        return "stride " + (s.strideH() == s.strideW() ? s.strideH() : s.strideH() + "x" + s.strideW())
                + " pad " + (s.padH() == s.padW() ? s.padH() : s.padH() + "x" + s.padW()) + (s.groups() == 1 ? "" : " groups " + s.groups());
    }

    // ---- memory -----------------------------------------------------------------------------------

    @Override
    public void copyFromHost(MemorySegment src, Tensor dst) {
        Profiler p = profiler;
        if (p == null) { inner.copyFromHost(src, dst); return; }
        Profiler.Call c = p.begin(Primitive.COPY_FROM_HOST);
        try { inner.copyFromHost(src, dst); } finally { p.end(c, DST, 0, "", 0, 2 * OpCosts.bytes(dst), dst); }
    }

    @Override
    public void copyToHost(Tensor src, MemorySegment dst) {
        Profiler p = profiler;
        if (p == null) { inner.copyToHost(src, dst); return; }
        Profiler.Call c = p.begin(Primitive.COPY_TO_HOST);
        try { inner.copyToHost(src, dst); } finally { p.end(c, SRC, 1, "", 0, 2 * OpCosts.bytes(src), src); }
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        Profiler p = profiler;
        if (p == null) { inner.copy(src, dst); return; }
        Profiler.Call c = p.begin(Primitive.COPY);
        try { inner.copy(src, dst); } finally { p.end(c, SRC_DST, 1, src.isContiguous() ? "" : "strided", 0, OpCosts.bytes(src, dst), src, dst); }
    }

    @Override
    public void fill(Tensor dst, double value) {
        Profiler p = profiler;
        if (p == null) { inner.fill(dst, value); return; }
        Profiler.Call c = p.begin(Primitive.FILL);
        try { inner.fill(dst, value); } finally { p.end(c, DST, 0, "", 0, OpCosts.bytes(dst), dst); }
    }

    @Override
    public void cast(Tensor src, Tensor dst) {
        Profiler p = profiler;
        if (p == null) { inner.cast(src, dst); return; }
        Profiler.Call c = p.begin(Primitive.CAST);
        try { inner.cast(src, dst); } finally { p.end(c, SRC_DST, 1, src.dtype() + "->" + dst.dtype(), 0, OpCosts.bytes(src, dst), src, dst); }
    }

    // ---- elementwise ------------------------------------------------------------------------------

    @Override
    public void axpby(float alpha, Tensor a, float beta, Tensor b, Tensor out) {
        Profiler p = profiler;
        if (p == null) { inner.axpby(alpha, a, beta, b, out); return; }
        Profiler.Call c = p.begin(Primitive.AXPBY);
        try { inner.axpby(alpha, a, beta, b, out); } finally { p.end(c, A_B_OUT, 2, "", OpCosts.elementwise(out, 3), OpCosts.bytes(a, b, out), a, b, out); }
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor out) {
        Profiler p = profiler;
        if (p == null) { inner.mul(a, b, out); return; }
        Profiler.Call c = p.begin(Primitive.MUL);
        try { inner.mul(a, b, out); } finally { p.end(c, A_B_OUT, 2, "", OpCosts.elementwise(out, 1), OpCosts.bytes(a, b, out), a, b, out); }
    }

    @Override
    public void scaleShift(Tensor a, float s, float t, Tensor out) {
        Profiler p = profiler;
        if (p == null) { inner.scaleShift(a, s, t, out); return; }
        Profiler.Call c = p.begin(Primitive.SCALE_SHIFT);
        try { inner.scaleShift(a, s, t, out); } finally { p.end(c, A_OUT, 1, "", OpCosts.elementwise(out, 2), OpCosts.bytes(a, out), a, out); }
    }

    @Override
    public void scaleByScalarTensor(Tensor a, Tensor s, Tensor out) {
        Profiler p = profiler;
        if (p == null) { inner.scaleByScalarTensor(a, s, out); return; }
        Profiler.Call c = p.begin(Primitive.SCALE_BY_SCALAR_TENSOR);
        try { inner.scaleByScalarTensor(a, s, out); } finally { p.end(c, A_S_OUT, 2, "", OpCosts.elementwise(out, 1), OpCosts.bytes(a, s, out), a, s, out); }
    }

    @Override
    public void rsqrtEps(Tensor x, float eps, Tensor out) {
        Profiler p = profiler;
        if (p == null) { inner.rsqrtEps(x, eps, out); return; }
        Profiler.Call c = p.begin(Primitive.RSQRT_EPS);
        try { inner.rsqrtEps(x, eps, out); } finally { p.end(c, X_OUT, 1, "", OpCosts.elementwise(out, 2), OpCosts.bytes(x, out), x, out); }
    }

    @Override
    public void relu(Tensor x, Tensor out) {
        Profiler p = profiler;
        if (p == null) { inner.relu(x, out); return; }
        Profiler.Call c = p.begin(Primitive.RELU);
        try { inner.relu(x, out); } finally { p.end(c, X_OUT, 1, "", OpCosts.elementwise(out, 1), OpCosts.bytes(x, out), x, out); }
    }

    @Override
    public void reluBackward(Tensor y, Tensor dy, Tensor dx) {
        Profiler p = profiler;
        if (p == null) { inner.reluBackward(y, dy, dx); return; }
        Profiler.Call c = p.begin(Primitive.RELU_BACKWARD);
        try { inner.reluBackward(y, dy, dx); } finally { p.end(c, Y_DY_DX, 2, "", OpCosts.elementwise(dx, 1), OpCosts.bytes(y, dy, dx), y, dy, dx); }
    }

    @Override
    public void addRowVector(Tensor x, Tensor v, Tensor out) {
        Profiler p = profiler;
        if (p == null) { inner.addRowVector(x, v, out); return; }
        Profiler.Call c = p.begin(Primitive.ADD_ROW_VECTOR);
        try { inner.addRowVector(x, v, out); } finally { p.end(c, X_V_OUT, 2, "", OpCosts.elementwise(out, 1), OpCosts.bytes(x, v, out), x, v, out); }
    }

    // ---- reductions and per-channel ---------------------------------------------------------------------

    @Override
    public void sumAll(Tensor x, Tensor out) {
        Profiler p = profiler;
        if (p == null) { inner.sumAll(x, out); return; }
        Profiler.Call c = p.begin(Primitive.SUM_ALL);
        try { inner.sumAll(x, out); } finally { p.end(c, X_OUT, 1, "", OpCosts.elementwise(x, 1), OpCosts.bytes(x, out), x, out); }
    }

    @Override
    public void sumRows(Tensor x, Tensor out) {
        Profiler p = profiler;
        if (p == null) { inner.sumRows(x, out); return; }
        Profiler.Call c = p.begin(Primitive.SUM_ROWS);
        try { inner.sumRows(x, out); } finally { p.end(c, X_OUT, 1, "", OpCosts.elementwise(x, 1), OpCosts.bytes(x, out), x, out); }
    }

    @Override
    public void channelAffine(Tensor x, Tensor scale, Tensor shift, Tensor out) {
        Profiler p = profiler;
        if (p == null) { inner.channelAffine(x, scale, shift, out); return; }
        Profiler.Call c = p.begin(Primitive.CHANNEL_AFFINE);
        try { inner.channelAffine(x, scale, shift, out); } finally {
            p.end(c, X_SCALE_SHIFT_OUT, 3, "", OpCosts.elementwise(out, shift == null ? 1 : 2), OpCosts.bytes(x, scale, shift, out), x, scale, shift, out);
        }
    }

    @Override
    public void channelSum(Tensor x, Tensor out) {
        Profiler p = profiler;
        if (p == null) { inner.channelSum(x, out); return; }
        Profiler.Call c = p.begin(Primitive.CHANNEL_SUM);
        try { inner.channelSum(x, out); } finally { p.end(c, X_OUT, 1, "", OpCosts.elementwise(x, 1), OpCosts.bytes(x, out), x, out); }
    }

    @Override
    public void channelDot(Tensor x, Tensor y, Tensor out) {
        Profiler p = profiler;
        if (p == null) { inner.channelDot(x, y, out); return; }
        Profiler.Call c = p.begin(Primitive.CHANNEL_DOT);
        try { inner.channelDot(x, y, out); } finally { p.end(c, X_Y_OUT, 2, "", OpCosts.elementwise(x, 2), OpCosts.bytes(x, y, out), x, y, out); }
    }

    // ---- matmul and convolution -----------------------------------------------------------------------

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor out, float alpha, float beta) {
        Profiler p = profiler;
        if (p == null) { inner.matmul(a, transA, b, transB, out, alpha, beta); return; }
        Profiler.Call c = p.begin(Primitive.MATMUL);
        try { inner.matmul(a, transA, b, transB, out, alpha, beta); } finally {
            String detail = (transA ? "a^T" : "") + (transA && transB ? " " : "") + (transB ? "b^T" : "") + (beta != 0 ? (transA || transB ? " " : "") + "beta " + beta : "");
            p.end(c, MATMUL, 3, detail, OpCosts.matmul(a, transA, out), OpCosts.bytes(a, b, beta != 0 ? out : null, out),
                    a, b, beta != 0 ? out : null, out);
        }
    }

    @Override
    public void conv2dForward(Tensor x, Tensor w, Tensor y, ConvSpec spec) {
        Profiler p = profiler;
        if (p == null) { inner.conv2dForward(x, w, y, spec); return; }
        Profiler.Call c = p.begin(Primitive.CONV2D_FORWARD);
        try { inner.conv2dForward(x, w, y, spec); } finally {
            p.end(c, CONV_FWD, 2, conv(spec), OpCosts.conv2d(x.shape(), w.shape(), y.shape(), spec), OpCosts.bytes(x, w, y), x, w, y);
        }
    }

    @Override
    public void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvSpec spec) {
        Profiler p = profiler;
        if (p == null) { inner.conv2dBackwardData(dy, w, dx, spec); return; }
        Profiler.Call c = p.begin(Primitive.CONV2D_BACKWARD_DATA);
        try { inner.conv2dBackwardData(dy, w, dx, spec); } finally {
            p.end(c, CONV_DATA, 2, conv(spec), OpCosts.conv2d(dx.shape(), w.shape(), dy.shape(), spec), OpCosts.bytes(dy, w, dx), dy, w, dx);
        }
    }

    @Override
    public void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, ConvSpec spec) {
        Profiler p = profiler;
        if (p == null) { inner.conv2dBackwardFilter(x, dy, dw, spec); return; }
        Profiler.Call c = p.begin(Primitive.CONV2D_BACKWARD_FILTER);
        try { inner.conv2dBackwardFilter(x, dy, dw, spec); } finally {
            p.end(c, CONV_FILTER, 2, conv(spec), OpCosts.conv2d(x.shape(), dw.shape(), dy.shape(), spec), OpCosts.bytes(x, dy, dw), x, dy, dw);
        }
    }

    // ---- batch norm -------------------------------------------------------------------------------

    @Override
    public void batchNormTrainForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                      float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        Profiler p = profiler;
        if (p == null) { inner.batchNormTrainForward(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd); return; }
        Profiler.Call c = p.begin(Primitive.BATCH_NORM_FORWARD);
        try { inner.batchNormTrainForward(x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd); } finally {
            // running statistics are read and written: listed as inputs and again as outputs
            p.end(c, BN_FWD, 5, "", OpCosts.batchNormForward(x),
                    OpCosts.bytes(x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, runningMean, runningVar),
                    x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, runningMean, runningVar);
        }
    }

    @Override
    public void batchNormTrainBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                       Tensor dx, Tensor dgamma, Tensor dbeta) {
        Profiler p = profiler;
        if (p == null) { inner.batchNormTrainBackward(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta); return; }
        Profiler.Call c = p.begin(Primitive.BATCH_NORM_BACKWARD);
        try { inner.batchNormTrainBackward(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta); } finally {
            p.end(c, BN_BWD, 5, "", OpCosts.batchNormBackward(x), OpCosts.bytes(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta),
                    x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta);
        }
    }

    @Override
    public void batchNormReluTrainForward(Tensor x, Tensor residual, Tensor gamma, Tensor beta, Tensor runningMean,
                                          Tensor runningVar, float momentum, float eps, boolean relu, Tensor y,
                                          Tensor saveMean, Tensor saveInvStd) {
        Profiler p = profiler;
        if (p == null) {
            inner.batchNormReluTrainForward(x, residual, gamma, beta, runningMean, runningVar, momentum, eps, relu, y, saveMean, saveInvStd);
            return;
        }
        Profiler.Call c = p.begin(Primitive.BATCH_NORM_RELU_FORWARD);
        try {
            inner.batchNormReluTrainForward(x, residual, gamma, beta, runningMean, runningVar, momentum, eps, relu, y, saveMean, saveInvStd);
        } finally {
            // running statistics are read and written: listed as inputs and again as outputs
            p.end(c, BNR_FWD, 6, (residual != null ? "+ residual" : "") + (relu ? (residual != null ? " " : "") + "relu" : ""),
                    OpCosts.batchNormReluForward(x, residual != null, relu),
                    OpCosts.bytes(x, residual, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, runningMean, runningVar),
                    x, residual, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd, runningMean, runningVar);
        }
    }

    @Override
    public void batchNormReluTrainBackward(Tensor x, Tensor y, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                           boolean relu, Tensor dx, Tensor dresidual, Tensor dgamma, Tensor dbeta) {
        Profiler p = profiler;
        if (p == null) { inner.batchNormReluTrainBackward(x, y, dy, gamma, saveMean, saveInvStd, relu, dx, dresidual, dgamma, dbeta); return; }
        Profiler.Call c = p.begin(Primitive.BATCH_NORM_RELU_BACKWARD);
        try { inner.batchNormReluTrainBackward(x, y, dy, gamma, saveMean, saveInvStd, relu, dx, dresidual, dgamma, dbeta); } finally {
            p.end(c, BNR_BWD, 6, relu ? "relu" : "", OpCosts.batchNormReluBackward(x, relu),
                    OpCosts.bytes(x, relu ? y : null, dy, gamma, saveMean, saveInvStd, dx, dresidual, dgamma, dbeta),
                    x, relu ? y : null, dy, gamma, saveMean, saveInvStd, dx, dresidual, dgamma, dbeta);
        }
    }

    // ---- pooling ----------------------------------------------------------------------------------

    @Override
    public void maxPool2dForward(Tensor x, Tensor y, Tensor argmax, PoolSpec spec) {
        Profiler p = profiler;
        if (p == null) { inner.maxPool2dForward(x, y, argmax, spec); return; }
        Profiler.Call c = p.begin(Primitive.MAX_POOL2D_FORWARD);
        try { inner.maxPool2dForward(x, y, argmax, spec); } finally {
            p.end(c, POOL_FWD, 1, "kernel " + spec.kernel() + " stride " + spec.stride() + " pad " + spec.pad(),
                    OpCosts.maxPoolForward(y, spec), OpCosts.bytes(x, y, argmax), x, y, argmax);
        }
    }

    @Override
    public void maxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx) {
        Profiler p = profiler;
        if (p == null) { inner.maxPool2dBackward(dy, argmax, dx); return; }
        Profiler.Call c = p.begin(Primitive.MAX_POOL2D_BACKWARD);
        try { inner.maxPool2dBackward(dy, argmax, dx); } finally {
            p.end(c, POOL_BWD, 2, "", OpCosts.elementwise(dy, 1), OpCosts.bytes(dy, argmax, dx), dy, argmax, dx);
        }
    }

    @Override
    public void globalAvgPoolForward(Tensor x, Tensor y) {
        Profiler p = profiler;
        if (p == null) { inner.globalAvgPoolForward(x, y); return; }
        Profiler.Call c = p.begin(Primitive.GLOBAL_AVG_POOL_FORWARD);
        try { inner.globalAvgPoolForward(x, y); } finally { p.end(c, X_Y, 1, "", OpCosts.elementwise(x, 1), OpCosts.bytes(x, y), x, y); }
    }

    @Override
    public void globalAvgPoolBackward(Tensor dy, Tensor dx) {
        Profiler p = profiler;
        if (p == null) { inner.globalAvgPoolBackward(dy, dx); return; }
        Profiler.Call c = p.begin(Primitive.GLOBAL_AVG_POOL_BACKWARD);
        try { inner.globalAvgPoolBackward(dy, dx); } finally { p.end(c, DY_DX, 1, "", OpCosts.elementwise(dx, 1), OpCosts.bytes(dy, dx), dy, dx); }
    }

    // ---- rows -------------------------------------------------------------------------------------

    @Override
    public void l2NormalizeForward(Tensor x, float eps, Tensor y, Tensor norms) {
        Profiler p = profiler;
        if (p == null) { inner.l2NormalizeForward(x, eps, y, norms); return; }
        Profiler.Call c = p.begin(Primitive.L2_NORMALIZE_FORWARD);
        try { inner.l2NormalizeForward(x, eps, y, norms); } finally {
            p.end(c, L2_FWD, 1, "", OpCosts.elementwise(x, 3), OpCosts.bytes(x, y, norms), x, y, norms);
        }
    }

    @Override
    public void l2NormalizeBackward(Tensor dy, Tensor y, Tensor norms, float eps, Tensor dx) {
        Profiler p = profiler;
        if (p == null) { inner.l2NormalizeBackward(dy, y, norms, eps, dx); return; }
        Profiler.Call c = p.begin(Primitive.L2_NORMALIZE_BACKWARD);
        try { inner.l2NormalizeBackward(dy, y, norms, eps, dx); } finally {
            p.end(c, L2_BWD, 3, "", OpCosts.elementwise(dx, 5), OpCosts.bytes(dy, y, norms, dx), dy, y, norms, dx);
        }
    }

    @Override
    public void softmaxCrossEntropyForward(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs) {
        Profiler p = profiler;
        if (p == null) { inner.softmaxCrossEntropyForward(logits, labels, smoothing, loss, probs); return; }
        Profiler.Call c = p.begin(Primitive.CROSS_ENTROPY_FORWARD);
        try { inner.softmaxCrossEntropyForward(logits, labels, smoothing, loss, probs); } finally {
            p.end(c, CE_FWD, 2, smoothing == 0 ? "" : "smoothing " + smoothing, OpCosts.crossEntropyForward(logits),
                    OpCosts.bytes(logits, labels, loss, probs), logits, labels, loss, probs);
        }
    }

    @Override
    public void softmaxCrossEntropyBackward(Tensor probs, Tensor labels, float smoothing, Tensor gradOut, Tensor dlogits) {
        Profiler p = profiler;
        if (p == null) { inner.softmaxCrossEntropyBackward(probs, labels, smoothing, gradOut, dlogits); return; }
        Profiler.Call c = p.begin(Primitive.CROSS_ENTROPY_BACKWARD);
        try { inner.softmaxCrossEntropyBackward(probs, labels, smoothing, gradOut, dlogits); } finally {
            p.end(c, CE_BWD, 3, smoothing == 0 ? "" : "smoothing " + smoothing, OpCosts.crossEntropyBackward(probs),
                    OpCosts.bytes(probs, labels, gradOut, dlogits), probs, labels, gradOut, dlogits);
        }
    }

    // ---- contrastive and distillation ---------------------------------------------------------------------

    @Override
    public void marginInfoNceForward(Tensor q, Tensor kPos, Tensor queue, float margin, float tau, Tensor loss, Tensor accuracy, Tensor dq) {
        Profiler p = profiler;
        if (p == null) { inner.marginInfoNceForward(q, kPos, queue, margin, tau, loss, accuracy, dq); return; }
        Profiler.Call c = p.begin(Primitive.MARGIN_INFONCE_FORWARD);
        try { inner.marginInfoNceForward(q, kPos, queue, margin, tau, loss, accuracy, dq); } finally {
            p.end(c, INFONCE, 3, "", OpCosts.marginInfoNce(q, queue, dq != null), OpCosts.bytes(q, kPos, queue, loss, accuracy, dq),
                    q, kPos, queue, loss, accuracy, dq);
        }
    }

    @Override
    public void enqueueKeys(Tensor queue, Tensor keys, Tensor ptr) {
        Profiler p = profiler;
        if (p == null) { inner.enqueueKeys(queue, keys, ptr); return; }
        Profiler.Call c = p.begin(Primitive.ENQUEUE_KEYS);
        try { inner.enqueueKeys(queue, keys, ptr); } finally {
            // B rows of the queue are written, not all K: keys read + the same amount written + the pointer read and written
            p.end(c, ENQUEUE, 2, "", 0, 2 * OpCosts.bytes(keys) + 2 * OpCosts.bytes(ptr), keys, ptr, queue, ptr);
        }
    }

    @Override
    public void gatherRows(Tensor x, Tensor index, Tensor out) {
        Profiler p = profiler;
        if (p == null) { inner.gatherRows(x, index, out); return; }
        Profiler.Call c = p.begin(Primitive.GATHER_ROWS);
        // N rows of x read (not all R), the index, N rows written
        try { inner.gatherRows(x, index, out); } finally { p.end(c, GATHER, 2, "", 0, 2 * OpCosts.bytes(out) + OpCosts.bytes(index), x, index, out); }
    }

    @Override
    public void ofdLossForward(Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor loss) {
        Profiler p = profiler;
        if (p == null) { inner.ofdLossForward(s, t, margin, w, channelStride, loss); return; }
        Profiler.Call c = p.begin(Primitive.OFD_LOSS_FORWARD);
        try { inner.ofdLossForward(s, t, margin, w, channelStride, loss); } finally {
            p.end(c, OFD_FWD, 3, channelStride == 1 ? "channels-last" : "", OpCosts.ofdForward(s), OpCosts.bytes(s, t, margin, loss), s, t, margin, loss);
        }
    }

    @Override
    public void ofdLossBackward(Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor gradOut, Tensor ds) {
        Profiler p = profiler;
        if (p == null) { inner.ofdLossBackward(s, t, margin, w, channelStride, gradOut, ds); return; }
        Profiler.Call c = p.begin(Primitive.OFD_LOSS_BACKWARD);
        try { inner.ofdLossBackward(s, t, margin, w, channelStride, gradOut, ds); } finally {
            p.end(c, OFD_BWD, 4, channelStride == 1 ? "channels-last" : "", OpCosts.ofdBackward(s), OpCosts.bytes(s, t, margin, gradOut, ds),
                    s, t, margin, gradOut, ds);
        }
    }

    // ---- optimizer --------------------------------------------------------------------------------

    @Override
    public void sgdUpdate(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float dampening,
                          float weightDecay, boolean nesterov, boolean firstStep) {
        Profiler p = profiler;
        if (p == null) { inner.sgdUpdate(param, grad, momentumBuffer, lr, momentum, dampening, weightDecay, nesterov, firstStep); return; }
        Profiler.Call c = p.begin(Primitive.SGD_UPDATE);
        try { inner.sgdUpdate(param, grad, momentumBuffer, lr, momentum, dampening, weightDecay, nesterov, firstStep); } finally {
            String detail = (momentum != 0 ? "momentum" : "") + (nesterov ? " nesterov" : "") + (weightDecay != 0 ? " wd" : "")
                    + (firstStep && momentumBuffer != null ? " first" : "");
            p.end(c, SGD, 3, detail.strip(), OpCosts.sgd(param, momentum, weightDecay, nesterov, firstStep),
                    OpCosts.sgdBytes(param, grad, momentumBuffer, firstStep),
                    param, grad, firstStep ? null : momentumBuffer, param, momentumBuffer);
        }
    }

    @Override
    public void sgdUpdateMulti(Tensor[] params, Tensor[] grads, Tensor[] momentumBuffers, Tensor lr, float momentum, float dampening,
                               float weightDecay, boolean nesterov, boolean firstStep) {
        Profiler p = profiler;
        if (p == null) { inner.sgdUpdateMulti(params, grads, momentumBuffers, lr, momentum, dampening, weightDecay, nesterov, firstStep); return; }
        Profiler.Call c = p.begin(Primitive.SGD_UPDATE_MULTI);
        try { inner.sgdUpdateMulti(params, grads, momentumBuffers, lr, momentum, dampening, weightDecay, nesterov, firstStep); } finally {
            long flops = 0, bytes = 0;
            for (int i = 0; i < params.length; i++) {
                Tensor buf = momentumBuffers == null ? null : momentumBuffers[i];
                flops += OpCosts.sgd(params[i], momentum, weightDecay, nesterov, firstStep);
                bytes += OpCosts.sgdBytes(params[i], grads[i], momentum != 0 ? buf : null, firstStep);
            }
            String detail = params.length + " tensors" + (momentum != 0 ? " momentum" : "") + (nesterov ? " nesterov" : "")
                    + (weightDecay != 0 ? " wd" : "") + (firstStep && momentum != 0 ? " first" : "");
            p.end(c, LR, 1, detail, flops, bytes, lr);
        }
    }

    @Override
    public void axpbyMulti(float alpha, Tensor[] a, float beta, Tensor[] b, Tensor[] out) {
        Profiler p = profiler;
        if (p == null) { inner.axpbyMulti(alpha, a, beta, b, out); return; }
        Profiler.Call c = p.begin(Primitive.AXPBY_MULTI);
        try { inner.axpbyMulti(alpha, a, beta, b, out); } finally {
            long flops = 0, bytes = 0;
            for (int i = 0; i < out.length; i++) {
                flops += OpCosts.elementwise(out[i], 3);
                bytes += OpCosts.bytes(a[i], b[i], out[i]);
            }
            p.end(c, NONE, 0, out.length + " tensors", flops, bytes);
        }
    }
}
