package dvp.nn.models;

import dvp.engine.Rng;
import dvp.engine.Tensor;
import dvp.nn.BatchNorm2d;
import dvp.nn.Conv2d;
import dvp.nn.Module;
import dvp.nn.ReLU;

/**
 * torchvision's Bottleneck, v1.5 (stride on the 3×3): conv1×1 → bn1 → relu → conv3×3(stride,
 * groups) → bn2 → relu → conv1×1 → bn3, plus the shortcut. Inner width =
 * ⌊planes·widthPerGroup/64⌋·groups (ResNeXt), output planes·4. Registration order conv1, bn1,
 * conv2, bn2, conv3, bn3, relu, downsample gives torchvision's keys (the {@code relu} module is kept
 * for them and for printing; the ReLUs run fused into bn1, bn2 and bn3).
 */
public final class Bottleneck extends ResidualBlock {
    public static final int EXPANSION = 4;

    private final Conv2d conv1, conv2, conv3;
    private final BatchNorm2d bn1, bn2, bn3;
    private final Module downsample;
    private final int outChannels;

    /** @param downsample the shortcut projection, or null for identity */
    public Bottleneck(int inplanes, int planes, int stride, Module downsample, int groups, int widthPerGroup,
                      NormFactory norm, Rng rng) {
        int width = width(planes, groups, widthPerGroup);
        conv1 = registerModule("conv1", ResNetLayers.conv1x1(inplanes, width, 1, rng));
        bn1 = registerModule("bn1", norm.create(width));
        conv2 = registerModule("conv2", ResNetLayers.conv3x3(width, width, stride, groups, rng));
        bn2 = registerModule("bn2", norm.create(width));
        conv3 = registerModule("conv3", ResNetLayers.conv1x1(width, planes * EXPANSION, 1, rng));
        bn3 = registerModule("bn3", norm.create(planes * EXPANSION));
        registerModule("relu", new ReLU());
        this.downsample = downsample == null ? null : registerModule("downsample", downsample);
        this.outChannels = planes * EXPANSION;
        if (downsample == null && (stride != 1 || inplanes != outChannels))
            throw new IllegalArgumentException("Bottleneck: " + inplanes + "→" + outChannels + " channels, stride " + stride
                    + " needs a downsample shortcut");
    }

    /** torchvision: int(planes * (base_width / 64.)) * groups. */
    static int width(int planes, int groups, int widthPerGroup) {
        int width = (int) (planes * (widthPerGroup / 64.0)) * groups;
        if (width <= 0)
            throw new IllegalArgumentException("Bottleneck: inner width int(" + planes + " * " + widthPerGroup + "/64) * " + groups
                    + " is 0; use a larger width multiplier or widthPerGroup");
        return width;
    }

    /** bn1 + ReLU and bn2 + ReLU fused; bn3 + shortcut add (+ the closing ReLU) fused. */
    @Override
    protected Tensor run(Tensor x, boolean closingRelu) {
        Tensor out = bn1.forwardAddRelu(conv1.forward(x), null, true);
        out = bn2.forwardAddRelu(conv2.forward(out), null, true);
        out = conv3.forward(out);
        Tensor identity = downsample == null ? x : downsample.forward(x);
        return bn3.forwardAddRelu(out, identity, closingRelu);
    }

    @Override
    public BatchNorm2d finalBn() { return bn3; }

    @Override
    public int outChannels() { return outChannels; }

    @Override
    protected String extraRepr() { return "Bottleneck"; }
}
