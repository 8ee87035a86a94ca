package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Device;
import dvp.engine.Tensor;
import dvp.engine.profile.DeviceClock;
import dvp.engine.profile.DeviceClockSource;
import dvp.engine.spi.Availability;
import dvp.engine.spi.Backend;
import dvp.engine.spi.BackendDiagnostics;
import dvp.engine.spi.BackendUnavailableException;
import dvp.engine.spi.ComputeSettings;
import dvp.engine.spi.ConvSpec;
import dvp.engine.spi.PoolSpec;
import dvp.engine.spi.Precision;
import dvp.engine.spi.Storage;

import java.lang.foreign.MemorySegment;

/**
 * The NVIDIA GPU backend: JCuda driver runtime ({@link CudaContext}), dvp's own kernels for
 * everything but GEMM and convolution, cuBLAS for GEMM and cuDNN for convolution and batch norm
 * (both through java.lang.foreign). Every primitive of {@link Backend}; results are compared with
 * the CPU reference by {@code BackendParityTest} and {@code dvp selftest --device cuda}.
 *
 * <p>Availability is decided once, step by step, and the first failing step is the reason: no
 * libcuda.so.1 / JCuda's binding does not load / cuInit fails / no device / context or stream
 * fails / kernel image not built or not loadable / cuBLAS or cuDNN 9 not found.
 *
 * <p>UNVERIFIED on a GPU: this backend has been compiled and its unavailability paths tested on
 * machines without a GPU only. Until {@code bench/gpu/check.sh} has run on a GPU, treat its
 * numbers as unproven.
 */
public final class CudaBackend implements Backend, BackendDiagnostics, DeviceClockSource {
    /** Preferred over the CPU backend (priority 100) by --device auto when available. */
    public static final int PRIORITY = 50;

    private volatile Availability availability;

    @Override public String name() { return "cuda"; }

    @Override
    public Availability availability() {
        Availability a = availability;
        if (a == null) {
            synchronized (this) {
                if (availability == null) {
                    try {
                        CudaContext c = CudaContext.get();
                        availability = Availability.yes(c.describe());
                    } catch (RuntimeException | LinkageError e) {
                        availability = Availability.no(String.valueOf(e.getMessage()));
                    }
                }
                a = availability;
            }
        }
        return a;
    }

    @Override public int priority() { return PRIORITY; }

    /** True when the device is the CUDA simulator (DVP_CUDA_SIM=1): see {@link CudaSimulator}. */
    @Override
    public boolean simulated() {
        availability();
        return CudaSimulator.loaded();
    }

    @Override public Device device() { return Device.cuda(CudaContext.deviceOrdinal()); }

    private CudaContext ctx(String op) {
        Availability a = availability();
        if (!a.available()) throw new BackendUnavailableException("cuda", a.reason());
        CudaContext c = CudaContext.get();
        c.enter(op);
        return c;
    }

    // ---- memory ---------------------------------------------------------------------------------

    @Override
    public Storage allocate(DType dtype, long numel) {
        CudaContext c = ctx("allocate");
        return new CudaStorage(this, c.allocator, dtype, numel);
    }

    @Override
    public void copyFromHost(MemorySegment src, Tensor dst) {
        CudaContext c = ctx("copyFromHost");
        CudaCopy.fromHost(c, src, dst);
        c.exit();
    }

    @Override
    public void copyToHost(Tensor src, MemorySegment dst) { CudaCopy.toHost(ctx("copyToHost"), src, dst); }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CudaContext c = ctx("copy");
        CudaCopy.copy(c, src, dst);
        c.exit();
    }

    @Override
    public void fill(Tensor dst, double value) {
        CudaContext c = ctx("fill");
        CudaCopy.fill(c, dst, value);
        c.exit();
    }

    @Override public void synchronize() { ctx("synchronize").synchronize(); }

    // ---- elementwise ------------------------------------------------------------------------------

    @Override
    public void axpby(float alpha, Tensor a, float beta, Tensor b, Tensor out) {
        CudaContext c = ctx("axpby");
        CudaElementwise.axpby(c, alpha, a, beta, b, out);
        c.exit();
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor out) {
        CudaContext c = ctx("mul");
        CudaElementwise.mul(c, a, b, out);
        c.exit();
    }

    @Override
    public void scaleShift(Tensor a, float s, float t, Tensor out) {
        CudaContext c = ctx("scaleShift");
        CudaElementwise.scaleShift(c, a, s, t, out);
        c.exit();
    }

    @Override
    public void scaleByScalarTensor(Tensor a, Tensor s, Tensor out) {
        CudaContext c = ctx("scaleByScalarTensor");
        CudaElementwise.scaleByScalarTensor(c, a, s, out);
        c.exit();
    }

    @Override
    public void rsqrtEps(Tensor x, float eps, Tensor out) {
        CudaContext c = ctx("rsqrtEps");
        CudaElementwise.rsqrtEps(c, x, eps, out);
        c.exit();
    }

    @Override
    public void relu(Tensor x, Tensor out) {
        CudaContext c = ctx("relu");
        CudaElementwise.relu(c, x, out);
        c.exit();
    }

    @Override
    public void reluBackward(Tensor y, Tensor dy, Tensor dx) {
        CudaContext c = ctx("reluBackward");
        CudaElementwise.reluBackward(c, y, dy, dx);
        c.exit();
    }

    @Override
    public void addRowVector(Tensor x, Tensor v, Tensor out) {
        CudaContext c = ctx("addRowVector");
        CudaElementwise.addRowVector(c, x, v, out);
        c.exit();
    }

    // ---- reductions ---------------------------------------------------------------------------------

    @Override
    public void sumAll(Tensor x, Tensor out) {
        CudaContext c = ctx("sumAll");
        CudaReduce.sumAll(c, x, out);
        c.exit();
    }

    @Override
    public void sumRows(Tensor x, Tensor out) {
        CudaContext c = ctx("sumRows");
        CudaReduce.sumRows(c, x, out);
        c.exit();
    }

    @Override
    public void channelAffine(Tensor x, Tensor scale, Tensor shift, Tensor out) {
        CudaContext c = ctx("channelAffine");
        CudaElementwise.channelAffine(c, x, scale, shift, out);
        c.exit();
    }

    @Override
    public void channelSum(Tensor x, Tensor out) {
        CudaContext c = ctx("channelSum");
        CudaReduce.channelReduce(c, x, null, out);
        c.exit();
    }

    @Override
    public void channelDot(Tensor x, Tensor y, Tensor out) {
        CudaContext c = ctx("channelDot");
        CudaReduce.channelReduce(c, x, y, out);
        c.exit();
    }

    // ---- linear algebra, convolution, batch norm ----------------------------------------------------

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor out, float alpha, float beta) {
        CudaContext c = ctx("matmul");
        CudaBlas.matmul(c, a, transA, b, transB, out, alpha, beta);
        c.exit();
    }

    /**
     * out[i] = op(a[i]) @ op(b[i]) over the leading dimension (cublasGemmStridedBatchedEx). Not part
     * of the Backend SPI yet; used by the CUDA self-test and available to fused losses.
     */
    public void batchedMatmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor out) {
        CudaContext c = ctx("batchedMatmul");
        CudaBlas.batchedMatmul(c, a, transA, b, transB, out);
        c.exit();
    }

    @Override
    public void conv2dForward(Tensor x, Tensor w, Tensor y, ConvSpec spec) {
        CudaContext c = ctx("conv2dForward");
        CudaConv.forward(c, x, w, y, spec);
        c.exit();
    }

    @Override
    public void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvSpec spec) {
        CudaContext c = ctx("conv2dBackwardData");
        CudaConv.backwardData(c, dy, w, dx, spec);
        c.exit();
    }

    @Override
    public void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, ConvSpec spec) {
        CudaContext c = ctx("conv2dBackwardFilter");
        CudaConv.backwardFilter(c, x, dy, dw, spec);
        c.exit();
    }

    @Override
    public void batchNormTrainForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                      float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        CudaContext c = ctx("batchNormTrainForward");
        CudaBatchNorm.trainForward(c, x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd);
        c.exit();
    }

    @Override
    public void batchNormTrainBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                       Tensor dx, Tensor dgamma, Tensor dbeta) {
        CudaContext c = ctx("batchNormTrainBackward");
        CudaBatchNorm.trainBackward(c, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta);
        c.exit();
    }

    @Override
    public void batchNormReluTrainForward(Tensor x, Tensor residual, Tensor gamma, Tensor beta, Tensor runningMean,
                                          Tensor runningVar, float momentum, float eps, boolean relu, Tensor y,
                                          Tensor saveMean, Tensor saveInvStd) {
        CudaContext c = ctx("batchNormReluTrainForward");
        CudaBatchNormRelu.trainForward(c, x, residual, gamma, beta, runningMean, runningVar, momentum, eps, relu, y, saveMean, saveInvStd);
        c.exit();
    }

    @Override
    public void batchNormReluTrainBackward(Tensor x, Tensor y, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                           boolean relu, Tensor dx, Tensor dresidual, Tensor dgamma, Tensor dbeta) {
        CudaContext c = ctx("batchNormReluTrainBackward");
        CudaBatchNormRelu.trainBackward(c, x, y, dy, gamma, saveMean, saveInvStd, relu, dx, dresidual, dgamma, dbeta);
        c.exit();
    }

    // ---- pooling, rows, optimizer -----------------------------------------------------------------

    @Override
    public void maxPool2dForward(Tensor x, Tensor y, Tensor argmax, PoolSpec spec) {
        CudaContext c = ctx("maxPool2dForward");
        CudaPool.maxForward(c, x, y, argmax, spec);
        c.exit();
    }

    @Override
    public void maxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx) {
        CudaContext c = ctx("maxPool2dBackward");
        CudaPool.maxBackward(c, dy, argmax, dx);
        c.exit();
    }

    @Override
    public void globalAvgPoolForward(Tensor x, Tensor y) {
        CudaContext c = ctx("globalAvgPoolForward");
        CudaPool.globalAvgForward(c, x, y);
        c.exit();
    }

    @Override
    public void globalAvgPoolBackward(Tensor dy, Tensor dx) {
        CudaContext c = ctx("globalAvgPoolBackward");
        CudaPool.globalAvgBackward(c, dy, dx);
        c.exit();
    }

    @Override
    public void l2NormalizeForward(Tensor x, float eps, Tensor y, Tensor norms) {
        CudaContext c = ctx("l2NormalizeForward");
        CudaRows.l2NormalizeForward(c, x, eps, y, norms);
        c.exit();
    }

    @Override
    public void l2NormalizeBackward(Tensor dy, Tensor y, Tensor norms, float eps, Tensor dx) {
        CudaContext c = ctx("l2NormalizeBackward");
        CudaRows.l2NormalizeBackward(c, dy, y, norms, eps, dx);
        c.exit();
    }

    @Override
    public void softmaxCrossEntropyForward(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs) {
        CudaContext c = ctx("softmaxCrossEntropyForward");
        CudaRows.crossEntropyForward(c, logits, labels, smoothing, loss, probs);
        c.exit();
    }

    @Override
    public void softmaxCrossEntropyBackward(Tensor probs, Tensor labels, float smoothing, Tensor gradOut, Tensor dlogits) {
        CudaContext c = ctx("softmaxCrossEntropyBackward");
        CudaRows.crossEntropyBackward(c, probs, labels, smoothing, gradOut, dlogits);
        c.exit();
    }

    @Override
    public void sgdUpdate(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float dampening,
                          float weightDecay, boolean nesterov, boolean firstStep) {
        CudaContext c = ctx("sgdUpdate");
        CudaSgd.update(c, param, grad, momentumBuffer, lr, momentum, dampening, weightDecay, nesterov, firstStep);
        c.exit();
    }

    /** Multi-tensor launches; their device tables are cached per tensor set (see {@link CudaMultiTensor}). */
    private final CudaMultiTensor multiTensor = new CudaMultiTensor();

    @Override
    public void sgdUpdateMulti(Tensor[] params, Tensor[] grads, Tensor[] momentumBuffers, Tensor lr, float momentum, float dampening,
                               float weightDecay, boolean nesterov, boolean firstStep) {
        CudaContext c = ctx("sgdUpdateMulti");
        multiTensor.sgd(c, params, grads, momentumBuffers, lr, momentum, dampening, weightDecay, nesterov, firstStep);
        c.exit();
    }

    @Override
    public void axpbyMulti(float alpha, Tensor[] a, float beta, Tensor[] b, Tensor[] out) {
        CudaContext c = ctx("axpbyMulti");
        multiTensor.axpby(c, alpha, a, beta, b, out);
        c.exit();
    }

    // ---- contrastive and distillation losses --------------------------------------------------------

    @Override
    public void marginInfoNceForward(Tensor q, Tensor kPos, Tensor queue, float margin, float tau, Tensor loss, Tensor accuracy, Tensor dq) {
        CudaContext c = ctx("marginInfoNceForward");
        CudaContrastive.forward(c, q, kPos, queue, margin, tau, loss, accuracy, dq);
        c.exit();
    }

    @Override
    public void enqueueKeys(Tensor queue, Tensor keys, Tensor ptr) {
        CudaContext c = ctx("enqueueKeys");
        CudaContrastive.enqueue(c, queue, keys, ptr);
        c.exit();
    }

    @Override
    public void gatherRows(Tensor x, Tensor index, Tensor out) {
        CudaContext c = ctx("gatherRows");
        CudaCopy.gatherRows(c, x, index, out);
        c.exit();
    }

    @Override
    public void ofdLossForward(Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor loss) {
        CudaContext c = ctx("ofdLossForward");
        CudaOfd.forward(c, s, t, margin, w, channelStride, loss);
        c.exit();
    }

    @Override
    public void ofdLossBackward(Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor gradOut, Tensor ds) {
        CudaContext c = ctx("ofdLossBackward");
        CudaOfd.backward(c, s, t, margin, w, channelStride, gradOut, ds);
        c.exit();
    }

    /** For {@code dvp doctor}: JCuda, driver, device, kernel image, cuBLAS, cuDNN (see {@link CudaDiagnostics}). */
    @Override
    public java.util.List<Line> diagnostics() {
        return CudaDiagnostics.lines().stream().map(l -> new Line(l.label(), l.value(), l.ok())).toList();
    }

    // ---- CUDA-only services (not in the SPI) ---------------------------------------------------------

    /** Device memory counters of the caching allocator (bytes). */
    public record MemoryStats(long allocated, long reserved, long peakAllocated, long peakReserved, long allocations,
                              long cudaMallocs) {}

    public MemoryStats memoryStats() {
        CachingAllocator.Stats s = ctx("memoryStats").allocator.stats();
        return new MemoryStats(s.allocated(), s.reserved(), s.peakAllocated(), s.peakReserved(), s.allocations(), s.cudaMallocs());
    }

    public void resetPeakMemoryStats() { ctx("resetPeakMemoryStats").allocator.resetPeaks(); }

    /** Returns cached, unused device memory to the driver (torch.cuda.empty_cache). */
    public void emptyCache() { ctx("emptyCache").allocator.releaseCached(); }

    /** {free, total} bytes of the device as the driver reports them (cuMemGetInfo). */
    public long[] deviceMemory() { return ctx("deviceMemory").memInfo(); }

    /** Captures what {@code body} queues (static shapes, no host transfers) into a replayable CUDA graph. */
    public CudaGraph captureGraph(Runnable body) { return CudaGraph.capture(ctx("captureGraph"), body); }

    /** The profiler's device clock: CUDA events on this backend's stream. */
    @Override
    public DeviceClock openDeviceClock() { return new CudaDeviceClock(ctx("openDeviceClock")); }

    /** A CUDA-event timer on this backend's stream. */
    public CudaTimer timer() { return new CudaTimer(ctx("timer")); }

    /** TF32 tensor cores for fp32 GEMMs and convolutions (off by default, as PyTorch's matmul default). */
    public void setTf32(boolean on) { ctx("setTf32").tf32 = on; }

    public boolean tf32() { return ctx("tf32").tf32; }

    /**
     * Only deterministic algorithms from now on (convolution choices are cached per setting, so
     * switching takes effect at the next convolution). Every other CUDA path of dvp is deterministic
     * already: no float atomics in the kernels, cuBLAS on one stream with a fixed workspace and its
     * default atomics mode (NVIDIA: bit-identical run to run then), cuDNN batch norm (not among the
     * routines cuDNN lists as non-reproducible).
     */
    public void setDeterministic(boolean on) { ctx("setDeterministic").deterministic = on; }

    public boolean deterministic() { return ctx("deterministic").deterministic; }

    /** Autotuned convolution algorithms (cudnn.benchmark; on by default), or cuDNN's _v7 heuristics when off. */
    public void setCudnnBenchmark(boolean on) { ctx("setCudnnBenchmark").cudnnBenchmark = on; }

    public boolean cudnnBenchmark() { return ctx("cudnnBenchmark").cudnnBenchmark; }

    @Override
    public void configure(ComputeSettings settings) {
        CudaContext c = ctx("configure");
        c.tf32 = settings.precision() == Precision.TF32;
        c.deterministic = settings.deterministic();
    }

    @Override
    public ComputeSettings computeSettings() {
        CudaContext c = ctx("computeSettings");
        return new ComputeSettings(c.tf32 ? Precision.TF32 : Precision.FP32, c.deterministic);
    }

    /**
     * Batch norm through cuDNN (the default; -Ddvp.cuda.cudnnBatchNorm / DVP_CUDA_CUDNN_BN) or, with
     * false, always dvp's own kernels (batchnorm.cu). Both paths write the same saved statistics, so
     * a forward by one and a backward by the other agree; the switch lets tests and the self-test
     * check each path against the CPU reference.
     */
    public void setCudnnBatchNorm(boolean on) { ctx("setCudnnBatchNorm").cudnnBatchNorm = on; }

    public boolean cudnnBatchNorm() { return ctx("cudnnBatchNorm").cudnnBatchNorm; }
}
