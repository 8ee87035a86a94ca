package dvp.nn;

import dvp.engine.Tensor;
import dvp.engine.ops.Elementwise;

/** torch.nn.ReLU: max(x, 0), out of place (the engine has no in-place ops). */
public class ReLU extends Module {
    @Override
    public Tensor forward(Tensor x) { return Elementwise.relu(x); }

    @Override
    protected String extraRepr() { return "ReLU()"; }
}
