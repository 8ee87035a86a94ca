package dvp.nn;

import dvp.engine.Tensor;
import dvp.engine.ops.Pool;
import dvp.engine.spi.PoolSpec;

/** torch.nn.MaxPool2d with square windows, floor output size (ceil_mode=False), dilation 1; padding is −∞. */
public class MaxPool2d extends Module {
    private final PoolSpec spec;

    /** stride = kernel, padding 0 (PyTorch's defaults). */
    public MaxPool2d(int kernel) { this(kernel, kernel, 0); }

    public MaxPool2d(int kernel, int stride, int padding) { this.spec = new PoolSpec(kernel, stride, padding); }

    @Override
    public Tensor forward(Tensor x) { return Pool.maxPool2d(x, spec); }

    public PoolSpec spec() { return spec; }

    @Override
    protected String extraRepr() { return "MaxPool2d(kernel_size=" + spec.kernel() + ", stride=" + spec.stride() + ", padding=" + spec.pad() + ")"; }
}
