package dvp.engine.spi;

import java.util.Locale;

/**
 * The arithmetic a run asks of matrix products and convolutions ({@code --precision}). The CPU
 * backend is the reference and always computes in fp32: it ignores TF32 and refuses BF16 (a
 * backend that {@link Backend#supportsBf16Compute} runs it).
 */
public enum Precision {
    /** True fp32: no tensor-core shortcut (cuDNN FMA math, cuBLAS COMPUTE_32F). The default. */
    FP32,
    /**
     * fp32 tensors, products on TF32 tensor cores (10-bit mantissa inputs, fp32 accumulation), as
     * PyTorch's {@code allow_tf32}: cuDNN default math, cuBLAS COMPUTE_32F_FAST_TF32.
     */
    TF32,
    /**
     * bf16 mixed precision for the whole run, as {@code torch.autocast("cuda", dtype=torch.bfloat16)}
     * ({@code dvp.engine.ops.Autocast}): convolutions and GEMMs on bf16 inputs (the fp32 master
     * weights cast every call) with fp32 accumulation; batch norm, losses, softmax and the
     * optimizer in fp32; fp32 master weights; no loss scaling.
     */
    BF16;

    /** "fp32", "tf32", "bf16": what users type and what is recorded. */
    public String cliName() { return name().toLowerCase(Locale.ROOT); }
}
