package dvp.engine.spi;

/** Max-pool geometry (square window), PyTorch semantics with ceil_mode=false. */
public record PoolSpec(int kernel, int stride, int pad) {
    public PoolSpec {
        if (kernel < 1 || stride < 1 || pad < 0 || pad > kernel / 2)
            throw new IllegalArgumentException("max_pool2d: bad kernel/stride/padding " + kernel + "/" + stride + "/" + pad
                    + " (padding must be at most half the kernel)");
    }

    public int out(int in) { return (in + 2 * pad - kernel) / stride + 1; }
}
