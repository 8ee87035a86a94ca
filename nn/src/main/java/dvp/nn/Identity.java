package dvp.nn;

import dvp.engine.Tensor;

/** torch.nn.Identity: returns its input (e.g. the max-pool slot of a small-image ResNet stem, or a removed head). */
public class Identity extends Module {
    @Override
    public Tensor forward(Tensor x) { return x; }

    @Override
    protected String extraRepr() { return "Identity()"; }
}
