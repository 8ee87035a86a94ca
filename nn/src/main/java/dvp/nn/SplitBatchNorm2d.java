package dvp.nn;

import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.ops.Norm;
import dvp.engine.ops.Views;
import dvp.engine.spi.Backend;

/**
 * MoCo's single-GPU substitute for shuffle-BN (ALGORITHMS §2.5; the {@code SplitBatchNorm} of the
 * official MoCo colab demo): in training mode the batch is normalised as {@code numSplits}
 * independent groups, each with its own batch statistics, exactly as the demo does it: the input
 * [N, C, H, W] is viewed as [N/S, S·C, H, W] and batch-normalised with γ, β and the running
 * statistics repeated S times. In that view <b>group j holds the samples n with n mod S = j</b>
 * (interleaved, not contiguous chunks). Afterwards each running statistic is the mean over the
 * S groups' updated copies. Eval mode is plain BN with the running statistics.
 *
 * <p>As in the demo, {@code num_batches_tracked} is not incremented (the demo bypasses
 * BatchNorm2d.forward), and momentum must be a number. State-dict keys equal BatchNorm2d's, so
 * checkpoints load into plain BN models unchanged. {@link #forwardAddRelu} fuses the ResNet block's
 * add and ReLU into the split batch norm, as BatchNorm2d does.
 */
public class SplitBatchNorm2d extends BatchNorm2d {
    private final int numSplits;

    public SplitBatchNorm2d(int numFeatures, int numSplits) {
        this(numFeatures, numSplits, DEFAULT_EPS, DEFAULT_MOMENTUM);
    }

    public SplitBatchNorm2d(int numFeatures, int numSplits, float eps, float momentum) {
        super(numFeatures, eps, momentum, true, true);
        if (numSplits <= 0) throw new IllegalArgumentException("SplitBatchNorm2d: num_splits must be positive, got " + numSplits);
        this.numSplits = numSplits;
    }

    public int numSplits() { return numSplits; }

    @Override
    public Tensor forward(Tensor x) {
        checkInput(x);
        if (!isTraining()) return super.forward(x);
        return splitTrain(x, (xs, g, b, rm, rv) -> Norm.batchNormTrain(xs, g, b, rm, rv, momentum, eps));
    }

    /**
     * Fused in training mode as plain BN is: the add and the ReLU are elementwise, so they run on
     * the same [N/S, S·C, H, W] view as the split statistics (the residual viewed likewise).
     */
    @Override
    public Tensor forwardAddRelu(Tensor x, Tensor residual, boolean relu) {
        checkInput(x);
        if (!isTraining()) return super.forwardAddRelu(x, residual, relu);
        int n = x.dim(0), c = numFeatures, h = x.dim(2), w = x.dim(3), s = numSplits;
        Tensor rs = residual == null || n % s != 0 ? null : Views.reshape(residual, n / s, s * c, h, w);
        return splitTrain(x, (xs, g, b, rm, rv) -> Norm.batchNormReluTrain(xs, rs, g, b, rm, rv, momentum, eps, relu));
    }

    /** The batch norm of the split view: x [N/S, S·C, H, W], γ, β, running statistics repeated S times. */
    @FunctionalInterface
    private interface SplitNorm {
        Tensor apply(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar);
    }

    private Tensor splitTrain(Tensor x, SplitNorm norm) {
        int n = x.dim(0), c = numFeatures, h = x.dim(2), w = x.dim(3), s = numSplits;
        if (n % s != 0)
            throw new IllegalArgumentException(extraRepr() + ": batch size " + n + " is not divisible by num_splits " + s);
        Backend be = x.backend();
        Tensor meanSplit, varSplit;
        try (var g = GradMode.noGrad()) {
            meanSplit = ChannelOps.repeat(runningMean(), s);
            varSplit = ChannelOps.repeat(runningVar(), s);
        }
        Tensor y = norm.apply(Views.reshape(x, n / s, s * c, h, w), ChannelOps.repeat(weight(), s), ChannelOps.repeat(bias(), s),
                meanSplit, varSplit);
        // running statistic = mean over the groups' updated copies (the demo's .view(S, C).mean(0))
        be.sumRows(meanSplit.view(s, c), runningMean());
        be.scaleShift(runningMean(), 1f / s, 0f, runningMean());
        be.sumRows(varSplit.view(s, c), runningVar());
        be.scaleShift(runningVar(), 1f / s, 0f, runningVar());
        return Views.reshape(y, n, c, h, w);
    }

    @Override
    protected String extraRepr() {
        return "SplitBatchNorm2d(" + numFeatures + ", num_splits=" + numSplits + ", eps=" + eps + ", momentum=" + momentum + ")";
    }
}
