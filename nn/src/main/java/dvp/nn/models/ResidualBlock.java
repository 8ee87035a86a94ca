package dvp.nn.models;

import dvp.engine.Tensor;
import dvp.nn.BatchNorm2d;
import dvp.nn.Module;

/**
 * A ResNet block: {@code forward(x) = relu(forwardPreRelu(x))} where {@code forwardPreRelu}
 * returns the last BN's output plus the shortcut — the pre-ReLU feature OFD distils
 * (ALGORITHMS §3.1). Both run the block's closing BN, add and ReLU as one fused op
 * ({@link BatchNorm2d#forwardAddRelu}; {@code forwardPreRelu} with the ReLU left out), so the two
 * agree bit for bit: relu(forwardPreRelu(x)) == forward(x). Computes exactly torchvision's block.
 */
public abstract class ResidualBlock extends Module {
    /** finalBn(conv(...)) + shortcut(x), before the block's closing ReLU. */
    public final Tensor forwardPreRelu(Tensor x) { return run(x, false); }

    @Override
    public final Tensor forward(Tensor x) { return run(x, true); }

    /** The block, with its closing ReLU when {@code relu}. */
    protected abstract Tensor run(Tensor x, boolean relu);

    /** The BN whose output enters the residual sum: bn2 (BasicBlock) or bn3 (Bottleneck). */
    public abstract BatchNorm2d finalBn();

    public abstract int outChannels();
}
