package dvp.engine.spi;

import dvp.engine.DType;
import dvp.engine.Device;
import dvp.engine.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The primitive contract every backend implements. Discovered through {@link java.util.ServiceLoader}
 * (see {@link Backends}).
 *
 * <p>Conventions, for every method unless it says otherwise:
 * <ul>
 *   <li>All tensor arguments live on this backend and are contiguous (row-major; NCHW for 4-D).
 *       The op layer ({@code dvp.engine.ops}) makes inputs contiguous and checks shapes; backends
 *       may assume both.</li>
 *   <li><b>Channels-last</b> ({@link dvp.engine.MemoryFormat}): the 4-D activations of the
 *       elementwise ops, the per-channel ops, convolution, batch norm and pooling (x, y, dy, dx,
 *       argmax; never a weight, which stays OIHW) may instead all have channels-last strides, the
 *       layout taken from the input x (dy for a backward without x). All activation arguments of
 *       one call share that memory order; the op layer guarantees it, and the layout-aware
 *       primitives (per-channel, convolution, batch norm, pooling) check it, naming the op and the
 *       layouts ({@link dvp.engine.MemoryFormat#common}). Outputs are written in that layout. The CPU
 *       reference converts to NCHW internally; a device backend indexes the layout natively.</li>
 *   <li>Output tensors are preallocated by the caller and <b>overwritten</b>, never accumulated,
 *       unless the parameter is named {@code accumulate}/the doc says "+=".</li>
 *   <li>Compute type is F32 (labels I64). A backend that {@link #supportsBf16Compute} also takes
 *       BF16 tensors where a method's doc says so: {@link #cast}, the GEMMs and convolutions (fp32
 *       accumulation), and the activation primitives of bf16 autocast (batch norm fused or not,
 *       ReLU, axpby, pooling, the two losses' features), each computing in fp32 and rounding once
 *       at a BF16 store; the CPU reference refuses BF16 by name. Reductions accumulate in at least F32 and are
 *       deterministic: same inputs, same bits, whatever the thread count.</li>
 *   <li>Scalars that come from other tensors (an upstream gradient of a loss) are passed as
 *       1-element tensors so a device backend never has to synchronise to read them.</li>
 *   <li>Methods are asynchronous with respect to the host on device backends; only
 *       {@link #copyToHost} and {@link #synchronize} wait.</li>
 * </ul>
 */
public interface Backend {
    /** Short name used by {@code --device}: "cpu", "cuda". */
    String name();

    /** Whether this backend can run on this machine; when not, the reason says what was looked for. */
    Availability availability();

    /** Lower is preferred by {@code --device auto}. */
    int priority();

    Device device();

    /**
     * Whether the device is simulated (the CUDA simulator runs the device code on the CPU): its
     * results are checked like a real device's, but it is never fast, so {@code --device auto}
     * never picks it and its timings are labelled "simulated, not a speed".
     */
    default boolean simulated() { return false; }

    /**
     * Whether {@link #matmul} and the convolutions accept BF16 operands (bf16 autocast, {@code
     * dvp.engine.ops.Autocast}). The CPU backend says no: it is the fp32 reference.
     */
    default boolean supportsBf16Compute() { return false; }

    /**
     * Applies a run's {@link ComputeSettings} (before its first op). The default suits a reference
     * backend: it computes in fp32 and deterministically whatever is asked, so there is nothing to
     * set; {@link #computeSettings} then reports what it really does.
     */
    default void configure(ComputeSettings settings) {}

    /** The settings in effect (what a run records): {@link ComputeSettings#REFERENCE} by default. */
    default ComputeSettings computeSettings() { return ComputeSettings.REFERENCE; }

    // ---- memory ---------------------------------------------------------------------------------

    Storage allocate(DType dtype, long numel);

    /** Copies {@code dst.numel()} elements from host memory (packed, dst's dtype) into dst. */
    void copyFromHost(MemorySegment src, Tensor dst);

    /** Copies src (contiguous) into packed host memory; waits for the device. */
    void copyToHost(Tensor src, MemorySegment dst);

    /** dst = src, same shape and dtype; src may be strided (any view), dst is contiguous. */
    void copy(Tensor src, Tensor dst);

    void fill(Tensor dst, double value);

    /**
     * dst = src converted between F32 and BF16 (one of each; same numel; both dense in one layout:
     * contiguous, or channels-last with equal strides — memory slot i to memory slot i). F32 →
     * BF16 rounds as the GPU's {@code cvt.rn.bf16.f32}: to nearest, ties to even, overflow to
     * infinity, subnormals kept, every NaN to the canonical quiet NaN 0x7FFF ({@link dvp.engine.Bf16},
     * the reference); BF16 → F32 is exact. Every backend implements it, bit for bit alike.
     */
    void cast(Tensor src, Tensor dst);

    /** Waits for all queued work. */
    void synchronize();

    // ---- elementwise (same numel; out may alias an input) -------------------------------------------

    /** out = alpha*a + beta*b. */
    void axpby(float alpha, Tensor a, float beta, Tensor b, Tensor out);

    /** out = a * b. */
    void mul(Tensor a, Tensor b, Tensor out);

    /** out = s * a + t. */
    void scaleShift(Tensor a, float s, float t, Tensor out);

    /** out = s * a where s is a 1-element tensor. */
    void scaleByScalarTensor(Tensor a, Tensor s, Tensor out);

    /** out = 1 / sqrt(x + eps). */
    void rsqrtEps(Tensor x, float eps, Tensor out);

    /** out = max(x, 0). */
    void relu(Tensor x, Tensor out);

    /** dx = y > 0 ? dy : 0, where y is the ReLU output (or its input: the sign is the same). */
    void reluBackward(Tensor y, Tensor dy, Tensor dx);

    /** out[r, c] = x[r, c] + v[c] for x of shape [rows, cols]. */
    void addRowVector(Tensor x, Tensor v, Tensor out);

    // ---- reductions --------------------------------------------------------------------------------

    /** out[0] = sum of all elements of x (deterministic). */
    void sumAll(Tensor x, Tensor out);

    /** out[c] = sum over rows of x[r, c], x of shape [rows, cols]. */
    void sumRows(Tensor x, Tensor out);

    // ---- per-channel (x is [N, C, *spatial], vectors are [C]) -------------------------------------------

    /** out[n,c,s] = x[n,c,s] * scale[c] + shift[c]; shift may be null (0). */
    void channelAffine(Tensor x, Tensor scale, Tensor shift, Tensor out);

    /** out[c] = sum over n, s of x[n,c,s]. */
    void channelSum(Tensor x, Tensor out);

    /** out[c] = sum over n, s of x[n,c,s] * y[n,c,s]. */
    void channelDot(Tensor x, Tensor y, Tensor out);

    // ---- linear algebra ----------------------------------------------------------------------------

    /**
     * out = alpha * op(a) @ op(b) + beta * out, 2-D; op(a) is [M,K], op(b) is [K,N], out [M,N].
     * With beta = 0, out is overwritten (its old contents, even NaN, are ignored). Operands and out
     * are F32, or, on a backend that {@link #supportsBf16Compute}, all three BF16: products
     * accumulated in F32, alpha/beta applied in F32, out rounded once to BF16.
     */
    void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor out, float alpha, float beta);

    // ---- convolution -------------------------------------------------------------------------------

    /**
     * y = conv2d(x, w): x [N,Ci,H,W], w [Co,Ci/g,kh,kw], y [N,Co,Ho,Wo]. No bias. For all three
     * directions the tensors are F32, or, on a backend that {@link #supportsBf16Compute}, all BF16
     * (accumulated in F32, each output element rounded once to BF16: cuDNN's PSEUDO_BFLOAT16_CONFIG).
     */
    void conv2dForward(Tensor x, Tensor w, Tensor y, ConvSpec spec);

    /** dx = conv2d_input_grad(dy, w). */
    void conv2dBackwardData(Tensor dy, Tensor w, Tensor dx, ConvSpec spec);

    /** dw = conv2d_weight_grad(x, dy). */
    void conv2dBackwardFilter(Tensor x, Tensor dy, Tensor dw, ConvSpec spec);

    // ---- batch norm (x [N,C,*spatial]) --------------------------------------------------------------

    /**
     * Training-mode batch norm with batch statistics. Writes y, saveMean[c] and saveInvStd[c] =
     * 1/sqrt(biased var + eps); when runningMean/runningVar are non-null updates them in place as
     * PyTorch does: r = (1-momentum)*r + momentum*stat, with the <b>unbiased</b> variance.
     */
    void batchNormTrainForward(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                               float momentum, float eps, Tensor y, Tensor saveMean, Tensor saveInvStd);

    /**
     * Backward of training-mode batch norm: writes dx and, when non-null, dgamma and dbeta
     * (overwritten, not accumulated).
     */
    void batchNormTrainBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                Tensor dx, Tensor dgamma, Tensor dbeta);

    /**
     * A ResNet block's batch norm, residual add and ReLU in one: y = act(bn(x) + residual), bn as
     * {@link #batchNormTrainForward} (same saved statistics, same running-statistics update),
     * residual null for none, act = max(·, 0) when {@code relu} or the identity (the pre-ReLU value,
     * for feature taps). x, residual and y are [N, C, *spatial], all contiguous or all channels-last
     * (a mix is refused naming the tensors; no transposes inside). Must equal, up to the statistics'
     * summation order, {@code batchNormTrainForward}, then {@code axpby(1, y, 1, residual, y)},
     * then {@code relu(y, y)} (the CPU backend computes exactly that, in either layout).
     * Element types: x, residual and y all F32, or, on a backend that {@link #supportsBf16Compute},
     * all BF16 (statistics and arithmetic in fp32, y rounded once to bf16); gamma, beta and the
     * running and saved statistics are F32 always. The CPU refuses BF16 by name.
     */
    void batchNormReluTrainForward(Tensor x, Tensor residual, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                   float momentum, float eps, boolean relu, Tensor y, Tensor saveMean, Tensor saveInvStd);

    /**
     * Backward of {@link #batchNormReluTrainForward}: dz = relu ? (y > 0 ? dy : 0) : dy (y the
     * forward's output; unused and may be null without ReLU); writes dx = batch norm's input
     * gradient for dz and, when non-null, dresidual = dz, dgamma, dbeta (all overwritten). Layouts
     * and element types as the forward: x, y, dy, dx, dresidual share one layout and one dtype (F32,
     * or BF16 with bf16 compute); gamma, the saved statistics, dgamma and dbeta are F32.
     */
    void batchNormReluTrainBackward(Tensor x, Tensor y, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                    boolean relu, Tensor dx, Tensor dresidual, Tensor dgamma, Tensor dbeta);

    // ---- pooling -----------------------------------------------------------------------------------

    /** y = max_pool2d(x); argmax[n,c,oh,ow] = flat h*W+w index of the max inside its plane (I32). */
    void maxPool2dForward(Tensor x, Tensor y, Tensor argmax, PoolSpec spec);

    /** dx = 0, then dx[argmax] += dy. */
    void maxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx);

    /** y[n,c] = mean over h,w of x[n,c,h,w]. */
    void globalAvgPoolForward(Tensor x, Tensor y);

    /** dx[n,c,h,w] = dy[n,c] / (H*W). */
    void globalAvgPoolBackward(Tensor dy, Tensor dx);

    // ---- rows of a matrix ----------------------------------------------------------------------------

    /** y[r] = x[r] / max(||x[r]||_2, eps); norms[r] = ||x[r]||_2 (x is [rows, d]). */
    void l2NormalizeForward(Tensor x, float eps, Tensor y, Tensor norms);

    /** dx[r] = (dy[r] - y[r] * (y[r]·dy[r])) / max(norms[r], eps). */
    void l2NormalizeBackward(Tensor dy, Tensor y, Tensor norms, float eps, Tensor dx);

    /**
     * Softmax cross-entropy, batch mean, label smoothing eps spread over all K classes (target =
     * (1-eps)*onehot + eps/K). logits [N,K] F32, labels [N] I64. Writes loss[0] and probs [N,K].
     */
    void softmaxCrossEntropyForward(Tensor logits, Tensor labels, float smoothing, Tensor loss, Tensor probs);

    /** dlogits = gradOut[0] * (probs - target) / N. */
    void softmaxCrossEntropyBackward(Tensor probs, Tensor labels, float smoothing, Tensor gradOut, Tensor dlogits);

    // ---- contrastive (MoCo with a margin on the positive) ---------------------------------------------

    /**
     * Margin-InfoNCE, fused: loss, contrastive accuracy and (optionally) the query gradient in one
     * pass over the queue, without materialising the N×(K+1) logits.
     *
     * <p>Layouts: q [N,d] and kPos [N,d] (row i pairs q_i with its positive key k⁺_i); queue
     * [K,d], <b>one key per row</b>. MoCo keeps its queue as a d×K buffer; row-major keys are
     * chosen here because an enqueue then writes one contiguous block of N rows, and a tile of
     * keys (the unit of the online softmax) is contiguous memory. Converting to/from MoCo's
     * layout is a transpose at checkpoint time.
     *
     * <p>With s⁺_i = q_i·k⁺_i, s_ij = q_i·queue_j: z_i0 = (s⁺_i − margin)/tau, z_ij = s_ij/tau,
     * loss_i = logsumexp_a(z_ia) − z_i0 (softmax cross-entropy with label 0), and
     * <ul>
     *   <li>{@code loss[0]} (overwritten) = mean_i loss_i;</li>
     *   <li>{@code accuracy[0]} (overwritten) = fraction of rows with z_i0 ≥ max_j z_ij, i.e. the
     *       margin-shifted positive is the arg-max (ties count as correct, like argmax's first
     *       index). MoCo logs the same top-1 as a percentage;</li>
     *   <li>{@code dq} (overwritten; null = not wanted) = ∂loss/∂q for an upstream gradient of 1:
     *       dq_i = (1/(N·tau))·[(p_i0 − 1)·k⁺_i + Σ_j p_ij·queue_j], p = softmax(z_i). The op's
     *       backward multiplies it by the upstream gradient ({@link #scaleByScalarTensor}); the
     *       keys and the queue are constants and get no gradient.</li>
     * </ul>
     * Numerically stable for any finite logits (running max / online log-sum-exp); rows are
     * expected to be L2-normalised but nothing relies on it. N ≥ 1, K ≥ 1, tau > 0.
     *
     * <p>dtypes: q, kPos and queue all F32, or all BF16 on a backend that
     * {@link #supportsBf16Compute} (bf16 autocast: every logit, s⁺ included, is the fp32 sum of the
     * exact products of the bf16 values; the softmax and its statistics are fp32; the logit
     * gradient may be rounded to bf16 before it multiplies the queue, and dq accumulates in fp32);
     * loss, accuracy and dq are F32 either way. A backend without bf16 compute refuses BF16.
     */
    void marginInfoNceForward(Tensor q, Tensor kPos, Tensor queue, float margin, float tau,
                              Tensor loss, Tensor accuracy, Tensor dq);

    /**
     * Ring-buffer enqueue: queue rows [p, p+B) = keys, then ptr[0] = (p + B) mod K, where p =
     * ptr[0] (I64, one element, read and advanced on the device so a captured step stays
     * replayable). queue [K,d], keys [B,d]. The caller guarantees K % B == 0; a pointer with
     * p + B > K (saved with another batch size) is an error.
     */
    void enqueueKeys(Tensor queue, Tensor keys, Tensor ptr);

    /**
     * Row gather along dim 0 (torch.index_select(x, 0, index)): out[i, ...] = x[index[i], ...].
     * x [R, ...] and out [N, ...] contiguous F32 with the same row size, index I64 [N] on the device
     * (MoCo's key shuffle reads its permutation from a tensor, so a captured step replays with the
     * permutation written into that tensor before each replay). out is overwritten; an index outside
     * [0, R) is an error naming its row (a device backend reports it at the next synchronisation and
     * leaves that row unwritten). Every element is copied bit for bit.
     */
    void gatherRows(Tensor x, Tensor index, Tensor out);

    // ---- feature distillation (OFD) ------------------------------------------------------------------

    /**
     * OFD partial-L2 loss. s (student connector output) and t (teacher feature) have the same
     * shape and the same dense memory layout; margin is [C]. The channel of the element at
     * memory position i is {@code (i / channelStride) % C} (NCHW: channelStride = H·W; NHWC: 1),
     * which is all the kernel knows about the layout. Per element: t' = max(t, margin[c]),
     * mask = (s > t') || (t' > 0); {@code loss[0]} (overwritten) = w · Σ mask·(s − t')², a sum
     * (not a mean) with short F32 partial sums combined in double over fixed-size blocks taken in
     * block order: the same bits whatever the thread count. NaN in s or t reaches the loss.
     * s and t are both F32, or both BF16 on a backend that {@link #supportsBf16Compute} (every
     * operation in fp32 on their exact values); margin and loss are F32.
     */
    void ofdLossForward(Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor loss);

    /**
     * Gradient of {@link #ofdLossForward}: ds (overwritten, same layout as s) = 2·w·gradOut[0]·
     * mask·(s − t'). One read of s and t, one write of ds. ds has s's dtype (BF16: the fp32
     * value rounded once to nearest even); gradOut is F32.
     */
    void ofdLossBackward(Tensor s, Tensor t, Tensor margin, float w, int channelStride, Tensor gradOut, Tensor ds);

    // ---- optimizer ---------------------------------------------------------------------------------

    /**
     * One PyTorch SGD step for one parameter, in place: g = grad + wd*p; if momentum != 0:
     * buf = firstStep ? g : momentum*buf + (1-dampening)*g, g = nesterov ? g + momentum*buf : buf;
     * p -= lr*g. grad is read only.
     */
    void sgdUpdate(Tensor param, Tensor grad, Tensor momentumBuffer, float lr, float momentum, float dampening,
                   float weightDecay, boolean nesterov, boolean firstStep);

    /**
     * {@link #sgdUpdate} for every parameter of a group at once (torch.optim.SGD's
     * {@code foreach} implementation): params[i] is updated with grads[i] and momentumBuffers[i]
     * (the array may be null when momentum is 0), each element rounded exactly as
     * {@link #sgdUpdate} rounds it. The learning rate is {@code lr[0]}, a one-element F32 tensor
     * read by the device, so a captured step follows a schedule that rewrites it without being
     * captured again. A device backend updates all of them in one or a few launches.
     */
    void sgdUpdateMulti(Tensor[] params, Tensor[] grads, Tensor[] momentumBuffers, Tensor lr, float momentum, float dampening,
                        float weightDecay, boolean nesterov, boolean firstStep);

    /**
     * {@link #axpby} over lists: out[i] = alpha*a[i] + beta*b[i] for every i (same sizes per i,
     * out[i] may alias a[i] or b[i]), each element rounded as {@link #axpby} rounds it; e.g. MoCo's
     * key-encoder update of all parameters in one or a few launches.
     */
    void axpbyMulti(float alpha, Tensor[] a, float beta, Tensor[] b, Tensor[] out);
}
