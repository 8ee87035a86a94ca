package dvp.nn;

import dvp.engine.Tensor;
import dvp.engine.ops.Pool;
import dvp.engine.ops.Views;

/**
 * torch.nn.AdaptiveAvgPool2d((1, 1)), the only output size ResNets use: [N, C, H, W] → [N, C, 1, 1],
 * the mean over each plane. Works for any input resolution (224, 448, 32...).
 */
public class AdaptiveAvgPool2d extends Module {
    @Override
    public Tensor forward(Tensor x) {
        Tensor pooled = Pool.globalAvgPool(x);
        return Views.reshape(pooled, x.dim(0), x.dim(1), 1, 1);
    }

    @Override
    protected String extraRepr() { return "AdaptiveAvgPool2d(output_size=(1, 1))"; }
}
