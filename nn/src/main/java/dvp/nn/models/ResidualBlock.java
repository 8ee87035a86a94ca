package dvp.nn.models;

import dvp.engine.Tensor;
import dvp.engine.ops.Elementwise;
import dvp.nn.BatchNorm2d;
import dvp.nn.Module;

/**
 * A ResNet block: {@code forward(x) = relu(forwardPreRelu(x))} where {@code forwardPreRelu}
 * returns the last BN's output plus the shortcut — the pre-ReLU feature OFD distils
 * (ALGORITHMS §3.1). Splitting it this way computes exactly torchvision's block.
 */
public abstract class ResidualBlock extends Module {
    /** finalBn(conv(...)) + shortcut(x), before the block's closing ReLU. */
    public abstract Tensor forwardPreRelu(Tensor x);

    @Override
    public Tensor forward(Tensor x) { return Elementwise.relu(forwardPreRelu(x)); }

    /** The BN whose output enters the residual sum: bn2 (BasicBlock) or bn3 (Bottleneck). */
    public abstract BatchNorm2d finalBn();

    public abstract int outChannels();
}
