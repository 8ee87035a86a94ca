package dvp.nn;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Tensor;
import dvp.engine.spi.Backends;

/**
 * torch.nn.Linear: y = x·Wᵀ + b with weight [out, in] and bias [out]. PyTorch's default init:
 * weight and bias U(−1/√in, 1/√in). State-dict keys: {@code weight}, {@code bias}.
 */
public class Linear extends Module {
    private final int inFeatures, outFeatures;
    private final Tensor weight, bias;

    /** With bias. */
    public Linear(int inFeatures, int outFeatures, Rng rng) { this(inFeatures, outFeatures, true, rng); }

    public Linear(int inFeatures, int outFeatures, boolean bias, Rng rng) {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new IllegalArgumentException("Linear: feature counts must be positive, got in=" + inFeatures + " out=" + outFeatures);
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = registerParameter("weight", Tensor.empty(Backends.current(), DType.F32, outFeatures, inFeatures));
        Init.pytorchDefaultWeight(weight, rng);
        if (bias) {
            this.bias = registerParameter("bias", Tensor.empty(Backends.current(), DType.F32, outFeatures));
            Init.pytorchDefaultBias(this.bias, weight, rng);
        } else {
            this.bias = null;
        }
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.rank() != 2 || x.dim(1) != inFeatures)
            throw new IllegalArgumentException(extraRepr() + ": expected input [N, " + inFeatures + "], got " + x.describe());
        return dvp.engine.ops.Linear.linear(x, weight, bias);
    }

    public Tensor weight() { return weight; }

    /** The bias, or null when the layer has none. */
    public Tensor bias() { return bias; }

    public int inFeatures() { return inFeatures; }

    public int outFeatures() { return outFeatures; }

    @Override
    protected String extraRepr() {
        return "Linear(in_features=" + inFeatures + ", out_features=" + outFeatures + (bias == null ? ", bias=False" : "") + ")";
    }
}
