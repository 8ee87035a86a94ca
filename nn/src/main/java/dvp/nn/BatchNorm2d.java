package dvp.nn;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Norm;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;

/**
 * torch.nn.BatchNorm2d. Parameters {@code weight} (γ, init 1) and {@code bias} (β, init 0) when
 * affine; buffers {@code running_mean} (0), {@code running_var} (1) and {@code num_batches_tracked}
 * (I64, rank 0) when tracking running statistics — registered in that order, as PyTorch.
 *
 * <p>Training mode normalises with the batch statistics (biased variance) and updates the running
 * statistics in place, r ← (1−momentum)·r + momentum·stat with the <b>unbiased</b> batch variance,
 * and increments {@code num_batches_tracked}; momentum {@code null} means a cumulative average
 * (factor 1/num_batches_tracked), as PyTorch. Eval mode uses the running statistics (or the
 * batch's when running statistics are not tracked).
 *
 * <p>The batch counter is kept on the host so training never waits on the device; it is written
 * into the {@code num_batches_tracked} tensor whenever state is read through
 * {@link #stateDict()}/{@link #namedBuffers()} and re-read after {@link #loadStateDict}.
 */
public class BatchNorm2d extends Module {
    public static final float DEFAULT_EPS = 1e-5f;
    public static final float DEFAULT_MOMENTUM = 0.1f;

    protected final int numFeatures;
    protected final float eps;
    protected final Float momentum;
    protected final boolean affine;
    protected final boolean trackRunningStats;
    private final Tensor weight, bias;
    private final Tensor runningMean, runningVar, batchCounter;
    private long numBatchesTracked;

    /** eps 1e-5, momentum 0.1, affine, tracking running statistics (PyTorch's defaults). */
    public BatchNorm2d(int numFeatures) { this(numFeatures, DEFAULT_EPS, DEFAULT_MOMENTUM, true, true); }

    /** @param momentum running-average factor, or null for a cumulative moving average */
    public BatchNorm2d(int numFeatures, float eps, Float momentum, boolean affine, boolean trackRunningStats) {
        if (numFeatures <= 0) throw new IllegalArgumentException("BatchNorm2d: num_features must be positive, got " + numFeatures);
        this.numFeatures = numFeatures;
        this.eps = eps;
        this.momentum = momentum;
        this.affine = affine;
        this.trackRunningStats = trackRunningStats;
        Backend be = Backends.current();
        if (affine) {
            weight = registerParameter("weight", Tensor.full(be, 1.0, numFeatures));
            bias = registerParameter("bias", Tensor.zeros(be, numFeatures));
        } else {
            weight = Tensor.full(be, 1.0, numFeatures); // constants, not parameters
            bias = Tensor.zeros(be, numFeatures);
        }
        if (trackRunningStats) {
            runningMean = registerBuffer("running_mean", Tensor.zeros(be, numFeatures));
            runningVar = registerBuffer("running_var", Tensor.full(be, 1.0, numFeatures));
            batchCounter = registerBuffer(StateDictLoader.BATCH_COUNTER, Tensor.empty(be, DType.I64));
            be.fill(batchCounter, 0);
        } else {
            runningMean = runningVar = batchCounter = null;
        }
    }

    @Override
    public Tensor forward(Tensor x) {
        checkInput(x);
        if (isTraining()) return Norm.batchNormTrain(x, weight, bias, runningMean, runningVar, nextMomentumFactor(), eps);
        if (trackRunningStats) return Norm.batchNormEval(x, weight, bias, runningMean, runningVar, eps);
        return Norm.batchNormTrain(x, weight, bias, null, null, 0f, eps);
    }

    protected final void checkInput(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != numFeatures)
            throw new IllegalArgumentException(extraRepr() + ": expected input [N, " + numFeatures + ", H, W], got " + x.describe());
    }

    /**
     * Counts one training batch (when tracking) and returns the running-average factor to use
     * for it: the momentum, or 1/num_batches_tracked for a cumulative average.
     */
    protected final float nextMomentumFactor() {
        if (!trackRunningStats) return 0f;
        numBatchesTracked++;
        return momentum != null ? momentum : (float) (1.0 / numBatchesTracked);
    }

    /**
     * Counts {@code n} more training batches without running forward (when tracking): a replayed
     * CUDA graph runs this layer's captured forward again, but the host-side count ran once, at
     * capture. The running-average factor is baked into the graph, so only a fixed momentum may be
     * replayed (a cumulative average's 1/num_batches_tracked would be stale).
     */
    public final void countReplayedBatches(long n) {
        if (n < 0) throw new IllegalArgumentException(extraRepr() + ": cannot count " + n + " batches");
        if (trackRunningStats) numBatchesTracked += n;
    }

    /** γ (a constant 1-vector when not affine). */
    public Tensor weight() { return weight; }

    /** β (a constant 0-vector when not affine). */
    public Tensor bias() { return bias; }

    /** The running mean buffer, or null when running statistics are not tracked. */
    public Tensor runningMean() { return runningMean; }

    public Tensor runningVar() { return runningVar; }

    /** Training batches seen since construction or the last load. */
    public long numBatchesTracked() { return numBatchesTracked; }

    public int numFeatures() { return numFeatures; }

    /**
     * {@code act(forward(x) + residual)} (residual may be null; act = ReLU when {@code relu}, else
     * the identity) — a ResNet block's closing BN, shortcut add and ReLU. In training mode one fused
     * op (Norm.batchNormReluTrain: the same statistics, running-statistics update and batch count
     * as {@link #forward}); in eval mode forward, add and ReLU composed (eval BN is a per-channel
     * affine map, already one pass).
     */
    public Tensor forwardAddRelu(Tensor x, Tensor residual, boolean relu) {
        checkInput(x);
        if (isTraining()) return Norm.batchNormReluTrain(x, residual, weight, bias, runningMean, runningVar, nextMomentumFactor(), eps, relu);
        if (!trackRunningStats) return Norm.batchNormReluTrain(x, residual, weight, bias, null, null, 0f, eps, relu);
        return addRelu(forward(x), residual, relu);
    }

    /** The unfused tail: {@code act(y + residual)}. */
    protected static Tensor addRelu(Tensor y, Tensor residual, boolean relu) {
        Tensor z = residual == null ? y : Elementwise.add(y, residual);
        return relu ? Elementwise.relu(z) : z;
    }

    public float eps() { return eps; }

    /** The momentum, or null for a cumulative average. */
    public Float momentum() { return momentum; }

    public boolean isAffine() { return affine; }

    public boolean tracksRunningStats() { return trackRunningStats; }

    @Override
    protected void beforeStateRead() {
        if (batchCounter != null) batchCounter.backend().fill(batchCounter, numBatchesTracked);
    }

    @Override
    protected void afterStateLoaded() {
        if (batchCounter != null) numBatchesTracked = batchCounter.toLongArray()[0];
    }

    @Override
    protected String extraRepr() {
        return kind() + "(" + numFeatures + ", eps=" + eps + ", momentum=" + momentum
                + (affine ? "" : ", affine=False") + (trackRunningStats ? "" : ", track_running_stats=False") + ")";
    }
}
