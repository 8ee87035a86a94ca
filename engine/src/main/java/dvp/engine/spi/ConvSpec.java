package dvp.engine.spi;

/**
 * A 2-D convolution's geometry (dilation 1, as every ResNet/ResNeXt layer). Weights are OIHW with
 * {@code I = C_in / groups}; input/output NCHW.
 */
public record ConvSpec(int strideH, int strideW, int padH, int padW, int groups) {
    public ConvSpec {
        if (strideH < 1 || strideW < 1) throw new IllegalArgumentException("conv2d: stride must be >= 1, got " + strideH + "x" + strideW);
        if (padH < 0 || padW < 0) throw new IllegalArgumentException("conv2d: padding must be >= 0, got " + padH + "x" + padW);
        if (groups < 1) throw new IllegalArgumentException("conv2d: groups must be >= 1, got " + groups);
    }

    public static ConvSpec of(int stride, int pad, int groups) { return new ConvSpec(stride, stride, pad, pad, groups); }

    /** PyTorch's floor((h + 2p - k) / s) + 1: 0 or less when the kernel is wider than the padded input (floorDiv, so never rounded up to 1). */
    public int outH(int h, int kh) { return Math.floorDiv(h + 2 * padH - kh, strideH) + 1; }

    public int outW(int w, int kw) { return Math.floorDiv(w + 2 * padW - kw, strideW) + 1; }
}
