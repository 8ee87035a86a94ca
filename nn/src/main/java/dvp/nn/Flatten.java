package dvp.nn;

import dvp.engine.Tensor;
import dvp.engine.ops.Views;

/** torch.nn.Flatten() / torch.flatten(x, 1): [N, d1, d2, ...] → [N, d1·d2·...]. */
public class Flatten extends Module {
    @Override
    public Tensor forward(Tensor x) { return Views.flatten(x); }

    @Override
    protected String extraRepr() { return "Flatten(start_dim=1)"; }
}
