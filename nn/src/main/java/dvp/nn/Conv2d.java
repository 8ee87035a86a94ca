package dvp.nn;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Tensor;
import dvp.engine.ops.Conv;
import dvp.engine.spi.Backends;
import dvp.engine.spi.ConvSpec;

/**
 * torch.nn.Conv2d with square kernels: weight [C_out, C_in/groups, k, k] (OIHW), optional bias
 * [C_out]. Bias defaults to off here (every ResNet conv feeds a BN), unlike PyTorch.
 * State-dict keys: {@code weight}, {@code bias}.
 */
public class Conv2d extends Module {
    /** How the weight is drawn at construction. */
    public enum WeightInit {
        /** PyTorch's Conv2d.reset_parameters: U(±1/√fan_in) (kaiming_uniform_, a=√5). */
        PYTORCH_DEFAULT,
        /** torchvision ResNet / OFD connector: N(0, 2/fan_out), fan_out = C_out·k·k. */
        KAIMING_NORMAL_FAN_OUT
    }

    private final int inChannels, outChannels, kernel;
    private final ConvSpec spec;
    private final Tensor weight;
    private final Tensor bias;

    /** No bias, PyTorch default init. */
    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, Rng rng) {
        this(inChannels, outChannels, kernel, stride, padding, 1, false, WeightInit.PYTORCH_DEFAULT, rng);
    }

    /**
     * @param bias  whether to add a learned per-channel bias (initialised U(±1/√fan_in) as PyTorch)
     * @param init  how the weight is drawn from {@code rng}
     */
    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, int groups, boolean bias,
                  WeightInit init, Rng rng) {
        if (inChannels <= 0 || outChannels <= 0 || kernel <= 0 || stride <= 0 || padding < 0 || groups <= 0)
            throw new IllegalArgumentException("Conv2d: invalid arguments in=" + inChannels + " out=" + outChannels + " kernel="
                    + kernel + " stride=" + stride + " padding=" + padding + " groups=" + groups);
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new IllegalArgumentException("Conv2d: in_channels " + inChannels + " and out_channels " + outChannels
                    + " must both be divisible by groups " + groups);
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernel = kernel;
        this.spec = ConvSpec.of(stride, padding, groups);
        this.weight = registerParameter("weight",
                Tensor.empty(Backends.current(), DType.F32, outChannels, inChannels / groups, kernel, kernel));
        switch (init) {
            case PYTORCH_DEFAULT -> Init.pytorchDefaultWeight(weight, rng);
            case KAIMING_NORMAL_FAN_OUT -> Init.kaimingNormalFanOut(weight, rng);
        }
        if (bias) {
            this.bias = registerParameter("bias", Tensor.empty(Backends.current(), DType.F32, outChannels));
            Init.pytorchDefaultBias(this.bias, weight, rng);
        } else {
            this.bias = null;
        }
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != inChannels)
            throw new IllegalArgumentException(extraRepr() + ": expected input [N, " + inChannels + ", H, W], got " + x.describe());
        Tensor y = Conv.conv2d(x, weight, spec);
        return bias == null ? y : ChannelOps.addChannelBias(y, bias);
    }

    public Tensor weight() { return weight; }

    /** The bias, or null when the layer has none. */
    public Tensor bias() { return bias; }

    public ConvSpec spec() { return spec; }

    public int inChannels() { return inChannels; }

    public int outChannels() { return outChannels; }

    @Override
    protected String extraRepr() {
        return "Conv2d(" + inChannels + ", " + outChannels + ", kernel=" + kernel + ", stride=" + spec.strideH()
                + ", padding=" + spec.padH() + (spec.groups() == 1 ? "" : ", groups=" + spec.groups())
                + (bias == null ? ", bias=False" : "") + ")";
    }
}
