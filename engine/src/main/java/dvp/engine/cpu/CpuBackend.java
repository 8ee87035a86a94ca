package dvp.engine.cpu;

import dvp.engine.DType;
import dvp.engine.Device;
import dvp.engine.Tensor;
import dvp.engine.spi.Availability;
import dvp.engine.spi.Backend;
import dvp.engine.spi.ConvSpec;
import dvp.engine.spi.PoolSpec;
import dvp.engine.spi.Storage;

import java.lang.foreign.MemorySegment;

/**
 * The reference backend: plain, obviously-right kernels (one file per op family), multi-threaded
 * with static splits, vectorised where it pays. Every other backend is tested against this one.
 * The three convolution primitives run oneDNN's kernels instead where libdnnl.so.2 loads
 * ({@link CpuConvChoice}: about 1.5x faster training steps); the java kernels stay the reference
 * that oneDNN's results are tested against and the code that runs without it.
 */
public final class CpuBackend implements Backend {
    @Override public String name() { return "cpu"; }

    @Override
    public Availability availability() {
        String convs;
        try {
            convs = CpuConvChoice.active();
        } catch (IllegalStateException e) {
            return Availability.no(e.getMessage());
        }
        return Availability.yes(Parallel.threads() + " threads, " + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length()
                + " float lanes, convolutions: " + convs);
    }

    @Override public int priority() { return 100; }

    @Override public Device device() { return Device.CPU; }

    @Override public Storage allocate(DType dtype, long numel) { return new CpuStorage(this, dtype, numel); }

    @Override
    public void copyFromHost(MemorySegment src, Tensor dst) {
        MemorySegment.copy(src, 0, Mem.seg(dst), Mem.base(dst), dst.numel() * dst.dtype().byteSize());
    }

    @Override
    public void copyToHost(Tensor src, MemorySegment dst) {
        MemorySegment.copy(Mem.seg(src), Mem.base(src), dst, 0, src.numel() * src.dtype().byteSize());
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (src.dtype() != dst.dtype()) throw new IllegalArgumentException("copy: dtype " + src.dtype() + " into " + dst.dtype());
        int es = src.dtype().byteSize();
        MemorySegment ss = Mem.seg(src), ds = Mem.seg(dst);
        if (src.isContiguous()) {
            MemorySegment.copy(ss, Mem.base(src), ds, Mem.base(dst), src.numel() * es);
            return;
        }
        // strided gather: walk dst in order, advance a multi-index over src's strides
        int[] shape = src.shape();
        long[] st = src.strides();
        int rank = shape.length;
        long n = src.numel();
        int[] idx = new int[rank];
        long so = src.offset(), db = Mem.base(dst);
        for (long i = 0; i < n; i++) {
            MemorySegment.copy(ss, so * es, ds, db + i * es, es);
            for (int d = rank - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) { so += st[d]; break; }
                so -= st[d] * (shape[d] - 1);
                idx[d] = 0;
            }
        }
    }

    @Override
    public void fill(Tensor dst, double value) {
        MemorySegment s = Mem.seg(dst).asSlice(Mem.base(dst), dst.numel() * dst.dtype().byteSize());
        switch (dst.dtype()) {
            case F32 -> {
                if (value == 0) s.fill((byte) 0);
                else for (long i = 0; i < dst.numel(); i++) s.setAtIndex(Mem.F, i, (float) value);
            }
            case I64 -> { for (long i = 0; i < dst.numel(); i++) s.setAtIndex(Mem.L, i, (long) value); }
            case I32 -> { for (long i = 0; i < dst.numel(); i++) s.setAtIndex(Mem.I, i, (int) value); }
            case U8 -> s.fill((byte) value);
            default -> {
                if (value != 0) throw new UnsupportedOperationException("fill: " + dst.dtype() + " only supports 0 on the CPU");
                s.fill((byte) 0);
            }
        }
    }

    @Override public void cast(Tensor src, Tensor dst) { CpuCast.cast(src, dst); }

    @Override public void synchronize() {}

    @Override public void axpby(float alpha, Tensor a, float beta, Tensor b, Tensor out) {
        F32Only.check("axpby", a, b, out);
        CpuElementwise.axpby(alpha, a, beta, b, out);
    }

    @Override public void mul(Tensor a, Tensor b, Tensor out) { CpuElementwise.mul(a, b, out); }

    @Override public void scaleShift(Tensor a, float s, float t, Tensor out) {
        F32Only.check("scaleShift", a, out);
        CpuElementwise.scaleShift(a, s, t, out);
    }

    @Override public void scaleByScalarTensor(Tensor a, Tensor s, Tensor out) { CpuElementwise.scaleShift(a, Mem.getF(s, 0), 0f, out); }

    @Override public void rsqrtEps(Tensor x, float eps, Tensor out) { CpuElementwise.rsqrtEps(x, eps, out); }

    @Override public void relu(Tensor x, Tensor out) {
        F32Only.check("relu", x, out);
        CpuElementwise.relu(x, out);
    }

    @Override public void reluBackward(Tensor y, Tensor dy, Tensor dx) {
        F32Only.check("reluBackward", y, dy, dx);
        CpuElementwise.reluBackward(y, dy, dx);
    }

    @Override public void addRowVector(Tensor x, Tensor v, Tensor out) { CpuElementwise.addRowVector(x, v, out); }

    @Override public void sumAll(Tensor x, Tensor out) { CpuReduce.sumAll(x, out); }

    @Override public void sumRows(Tensor x, Tensor out) { CpuReduce.sumRows(x, out); }

    // The per-channel ops, convolution, batch norm and pooling accept channels-last activations by
    // running the NCHW kernels on converted copies (NchwCall); the elementwise ops walk memory in
    // order and need nothing, since their operands share a layout.

    @Override
    public void channelAffine(Tensor x, Tensor scale, Tensor shift, Tensor out) {
        F32Only.check("channelAffine", x, scale, shift, out);
        try (NchwCall c = new NchwCall("channelAffine", x, out)) { CpuElementwise.channelAffine(c.in(x), scale, shift, c.out(out)); }
    }

    @Override
    public void channelSum(Tensor x, Tensor out) {
        F32Only.check("channelSum", x, out);
        try (NchwCall c = new NchwCall("channelSum", x)) { CpuReduce.channelReduce(c.in(x), null, out); }
    }

    @Override
    public void channelDot(Tensor x, Tensor y, Tensor out) {
        F32Only.check("channelDot", x, y, out);
        try (NchwCall c = new NchwCall("channelDot", x, y)) { CpuReduce.channelReduce(c.in(x), c.in(y), out); }
    }

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor out, float alpha, float beta) {
        F32Only.check("matmul", a, b, out);
        int m = out.dim(0), n = out.dim(1), k = transA ? a.dim(0) : a.dim(1);
        Sgemm.View va = Sgemm.View.rowMajor(Mem.seg(a), a.offset(), a.dim(1)), vb = Sgemm.View.rowMajor(Mem.seg(b), b.offset(), b.dim(1));
        Sgemm.gemm(m, n, k, alpha, transA ? va.transposed() : va, transB ? vb.transposed() : vb, beta,
                Sgemm.View.rowMajor(Mem.seg(out), out.offset(), n));
    }

    @Override
    public void conv2dForward(Tensor x, Tensor w, Tensor y, ConvSpec spec) {
        F32Only.check("conv2dForward", x, w, y);
        try (NchwCall c = new NchwCall("conv2dForward", x, y)) { CpuConvChoice.get().forward(c.in(x), w, c.out(y), spec); }
    }

    @Override
    public void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvSpec spec) {
        F32Only.check("conv2dBackwardData", dy, w, dx);
        try (NchwCall c = new NchwCall("conv2dBackwardData", dy, dx)) { CpuConvChoice.get().backwardData(c.in(dy), w, c.out(dx), spec); }
    }

    @Override
    public void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, ConvSpec spec) {
        F32Only.check("conv2dBackwardFilter", x, dy, dw);
        try (NchwCall c = new NchwCall("conv2dBackwardFilter", x, dy)) { CpuConvChoice.get().backwardFilter(c.in(x), c.in(dy), dw, spec); }
    }

    @Override
    public void batchNormTrainForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                      float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        F32Only.check("batchNormTrainForward", x, y);
        try (NchwCall c = new NchwCall("batchNormTrainForward", x, y)) {
            CpuBatchNorm.trainForward(c.in(x), gamma, beta, runningMean, runningVar, momentum, eps, c.out(y), saveMean, saveInvStd);
        }
    }

    @Override
    public void batchNormTrainBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                       Tensor dx, Tensor dgamma, Tensor dbeta) {
        F32Only.check("batchNormTrainBackward", x, dy, dx);
        try (NchwCall c = new NchwCall("batchNormTrainBackward", x, dy, dx)) {
            CpuBatchNorm.trainBackward(c.in(x), c.in(dy), gamma, saveMean, saveInvStd, c.out(dx), dgamma, dbeta);
        }
    }

    @Override
    public void batchNormReluTrainForward(Tensor x, Tensor residual, Tensor gamma, Tensor beta, Tensor runningMean,
                                          Tensor runningVar, float momentum, float eps, boolean relu, Tensor y,
                                          Tensor saveMean, Tensor saveInvStd) {
        CpuBatchNormRelu.trainForward(x, residual, gamma, beta, runningMean, runningVar, momentum, eps, relu, y, saveMean, saveInvStd);
    }

    @Override
    public void batchNormReluTrainBackward(Tensor x, Tensor y, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                           boolean relu, Tensor dx, Tensor dresidual, Tensor dgamma, Tensor dbeta) {
        CpuBatchNormRelu.trainBackward(x, y, dy, gamma, saveMean, saveInvStd, relu, dx, dresidual, dgamma, dbeta);
    }

    @Override
    public void maxPool2dForward(Tensor x, Tensor y, Tensor argmax, PoolSpec spec) {
        F32Only.check("maxPool2dForward", x, y);
        try (NchwCall c = new NchwCall("maxPool2dForward", x, y, argmax)) { CpuPool.maxForward(c.in(x), c.out(y), c.out(argmax), spec); }
    }

    @Override
    public void maxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx) {
        F32Only.check("maxPool2dBackward", dy, dx);
        try (NchwCall c = new NchwCall("maxPool2dBackward", dy, argmax, dx)) { CpuPool.maxBackward(c.in(dy), c.in(argmax), c.out(dx)); }
    }

    @Override
    public void globalAvgPoolForward(Tensor x, Tensor y) {
        F32Only.check("globalAvgPoolForward", x, y);
        try (NchwCall c = new NchwCall("globalAvgPoolForward", x)) { CpuPool.globalAvgForward(c.in(x), y); }
    }

    @Override
    public void globalAvgPoolBackward(Tensor dy, Tensor dx) {
        F32Only.check("globalAvgPoolBackward", dy, dx);
        try (NchwCall c = new NchwCall("globalAvgPoolBackward", dx)) { CpuPool.globalAvgBackward(dy, c.out(dx)); }
    }

    @Override public void l2NormalizeForward(Tensor x, float eps, Tensor y, Tensor norms) { CpuRows.l2NormalizeForward(x, eps, y, norms); }

    @Override public void l2NormalizeBackward(Tensor dy, Tensor y, Tensor norms, float eps, Tensor dx) { CpuRows.l2NormalizeBackward(dy, y, norms, eps, dx); }

    @Override
    public void softmaxCrossEntropyForward(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs) {
        CpuRows.crossEntropyForward(logits, labels, smoothing, loss, probs);
    }

    @Override
    public void softmaxCrossEntropyBackward(Tensor probs, Tensor labels, float smoothing, Tensor gradOut, Tensor dlogits) {
        CpuRows.crossEntropyBackward(probs, labels, smoothing, gradOut, dlogits);
    }

    @Override
    public void marginInfoNceForward(Tensor q, Tensor kPos, Tensor queue, float margin, float tau,
                                     Tensor loss, Tensor accuracy, Tensor dq) {
        CpuContrastive.forward(q, kPos, queue, margin, tau, loss, accuracy, dq);
    }

    @Override
    public void enqueueKeys(Tensor queue, Tensor keys, Tensor ptr) {
        int k = queue.dim(0), b = keys.dim(0);
        long p = Mem.getL(ptr, 0);
        if (p < 0 || p + b > k)
            throw new IllegalStateException("enqueue: queue pointer " + p + " + batch " + b + " does not fit a queue of " + k
                    + " keys (a pointer saved with another batch size?)");
        MemorySegment.copy(Mem.seg(keys), Mem.base(keys), Mem.seg(queue), Mem.base(queue) + p * queue.dim(1) * 4L,
                keys.numel() * 4L);
        Mem.seg(ptr).set(Mem.L, Mem.base(ptr), (p + b) % k);
    }

    @Override
    public void gatherRows(Tensor x, Tensor index, Tensor out) {
        long rows = x.dim(0), row = out.dim(0) == 0 ? 0 : out.numel() / out.dim(0);
        for (int i = 0; i < out.dim(0); i++) {
            long j = Mem.getL(index, i);
            if (j < 0 || j >= rows)
                throw new IllegalArgumentException("gatherRows: index " + j + " at row " + i + " is outside [0, " + rows + ") for x " + x.describe());
            MemorySegment.copy(Mem.seg(x), Mem.base(x) + j * row * 4L, Mem.seg(out), Mem.base(out) + i * row * 4L, row * 4L);
        }
    }

    @Override
    public void ofdLossForward(Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor loss) {
        CpuOfd.lossForward(s, t, margin, w, channelStride, loss);
    }

    @Override
    public void ofdLossBackward(Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor gradOut, Tensor ds) {
        CpuOfd.lossBackward(s, t, margin, w, channelStride, gradOut, ds);
    }

    @Override
    public void sgdUpdate(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float dampening,
                          float weightDecay, boolean nesterov, boolean firstStep) {
        CpuSgd.update(param, grad, momentumBuffer, lr, momentum, dampening, weightDecay, nesterov, firstStep);
    }

    /** The reference: {@link #sgdUpdate} per parameter, in order, with lr read from its tensor. */
    @Override
    public void sgdUpdateMulti(Tensor[] params, Tensor[] grads, Tensor[] momentumBuffers, Tensor lr, float momentum, float dampening,
                               float weightDecay, boolean nesterov, boolean firstStep) {
        if (grads.length != params.length || (momentumBuffers != null && momentumBuffers.length != params.length))
            throw new IllegalArgumentException("sgdUpdateMulti: " + params.length + " parameters, " + grads.length + " gradients"
                    + (momentumBuffers == null ? "" : ", " + momentumBuffers.length + " momentum buffers"));
        if (lr.dtype() != DType.F32 || lr.numel() != 1) throw new IllegalArgumentException("sgdUpdateMulti: lr must be one F32 element, got " + lr.describe());
        // the same message as the CUDA backend's (CudaMultiTensor), not a NullPointerException from inside the loop
        if (momentum != 0f && (momentumBuffers == null || java.util.Arrays.asList(momentumBuffers).contains(null)))
            throw new IllegalArgumentException("sgdUpdateMulti: momentum " + momentum + " needs a momentum buffer for every parameter");
        float lrv = Mem.getF(lr, 0);
        for (int i = 0; i < params.length; i++)
            CpuSgd.update(params[i], grads[i], momentumBuffers == null ? null : momentumBuffers[i], lrv, momentum, dampening, weightDecay,
                    nesterov, firstStep);
    }

    /** The reference: {@link #axpby} per list entry, in order. */
    @Override
    public void axpbyMulti(float alpha, Tensor[] a, float beta, Tensor[] b, Tensor[] out) {
        if (b.length != a.length || out.length != a.length)
            throw new IllegalArgumentException("axpbyMulti: lists of " + a.length + ", " + b.length + " and " + out.length + " tensors");
        for (int i = 0; i < a.length; i++) CpuElementwise.axpby(alpha, a[i], beta, b[i], out[i]);
    }
}
