package dvp.nn.models;

import dvp.engine.Rng;
import dvp.engine.Tensor;
import dvp.nn.BatchNorm2d;
import dvp.nn.Conv2d;
import dvp.nn.Module;
import dvp.nn.ReLU;

/**
 * torchvision's BasicBlock (ResNet-18/34): conv3×3(stride) → bn1 → relu → conv3×3 → bn2, plus the
 * shortcut (identity or {@code downsample}). Registration order conv1, bn1, relu, conv2, bn2,
 * downsample gives torchvision's keys (the {@code relu} module is kept for them and for printing;
 * the ReLUs run fused into bn1 and bn2). Expansion 1.
 */
public final class BasicBlock extends ResidualBlock {
    public static final int EXPANSION = 1;

    private final Conv2d conv1, conv2;
    private final BatchNorm2d bn1, bn2;
    private final Module downsample;
    private final int outChannels;

    /** @param downsample the shortcut projection, or null for identity */
    public BasicBlock(int inplanes, int planes, int stride, Module downsample, NormFactory norm, Rng rng) {
        conv1 = registerModule("conv1", ResNetLayers.conv3x3(inplanes, planes, stride, 1, rng));
        bn1 = registerModule("bn1", norm.create(planes));
        registerModule("relu", new ReLU());
        conv2 = registerModule("conv2", ResNetLayers.conv3x3(planes, planes, 1, 1, rng));
        bn2 = registerModule("bn2", norm.create(planes));
        this.downsample = downsample == null ? null : registerModule("downsample", downsample);
        this.outChannels = planes * EXPANSION;
        if (downsample == null && (stride != 1 || inplanes != outChannels))
            throw new IllegalArgumentException("BasicBlock: " + inplanes + "→" + outChannels + " channels, stride " + stride
                    + " needs a downsample shortcut");
    }

    /** bn1 + ReLU fused; bn2 + shortcut add (+ the closing ReLU) fused. */
    @Override
    protected Tensor run(Tensor x, boolean closingRelu) {
        Tensor out = bn1.forwardAddRelu(conv1.forward(x), null, true);
        out = conv2.forward(out);
        Tensor identity = downsample == null ? x : downsample.forward(x);
        return bn2.forwardAddRelu(out, identity, closingRelu);
    }

    @Override
    public BatchNorm2d finalBn() { return bn2; }

    @Override
    public int outChannels() { return outChannels; }

    @Override
    protected String extraRepr() { return "BasicBlock"; }
}
