package dvp.engine.spi;

import java.util.Locale;

/**
 * The arithmetic a run asks of fp32 matrix products and convolutions ({@code --precision}). The
 * CPU backend is the reference and always computes in fp32, whatever is asked.
 */
public enum Precision {
    /** True fp32: no tensor-core shortcut (cuDNN FMA math, cuBLAS COMPUTE_32F). The default. */
    FP32,
    /**
     * fp32 tensors, products on TF32 tensor cores (10-bit mantissa inputs, fp32 accumulation), as
     * PyTorch's {@code allow_tf32}: cuDNN default math, cuBLAS COMPUTE_32F_FAST_TF32.
     */
    TF32;

    /** "fp32", "tf32": what users type and what is recorded. */
    public String cliName() { return name().toLowerCase(Locale.ROOT); }
}
