package dvp.engine.cpu;

import dvp.engine.DType;
import dvp.engine.Tensor;

/**
 * The CPU backend computes in F32 only (it is the reference; bf16 autocast needs a device that
 * {@code supportsBf16Compute}). Checked where a BF16 tensor would otherwise be read as floats.
 */
final class F32Only {
    private F32Only() {}

    static void check(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && t.dtype() != DType.F32)
                throw new IllegalArgumentException(op + ": the CPU backend computes in F32 only (it is the fp32 reference; bf16 "
                        + "autocast needs a CUDA device), got " + t.describe());
        }
    }
}
