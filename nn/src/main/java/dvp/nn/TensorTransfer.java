package dvp.nn;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.io.HalfFloats;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Copies a value into an existing tensor in place, across backends and from half-precision
 * checkpoints: same backend and dtype is a device copy; otherwise the bytes go through the host,
 * F16/BF16 widened to F32 exactly. No autograd.
 */
public final class TensorTransfer {
    private TensorTransfer() {}

    /** Whether {@link #copyInto} can copy a {@code src}-typed value into a {@code dst}-typed tensor. */
    public static boolean canCopy(DType src, DType dst) {
        return src == dst || (dst == DType.F32 && (src == DType.F16 || src == DType.BF16));
    }

    /** dst ← src (same number of elements; the caller checks shapes). */
    public static void copyInto(Tensor dst, Tensor src) {
        if (dst.numel() != src.numel())
            throw new IllegalArgumentException("copy: " + src.describe() + " into " + dst.describe());
        if (!canCopy(src.dtype(), dst.dtype()))
            throw new IllegalArgumentException("copy: cannot convert " + src.describe() + " into " + dst.describe());
        if (src.dtype() == dst.dtype() && src.backend() == dst.backend()) {
            dst.copyFrom(java.util.Arrays.equals(src.shape(), dst.shape()) ? src : src.view(dst.shape()));
            return;
        }
        try (Scope tmp = Scope.open("transfer"); Arena arena = Arena.ofConfined()) {
            Tensor c = src.isContiguous() ? src : src.copyContiguous();
            long n = src.numel();
            MemorySegment raw = arena.allocate(Math.max(8, n * src.dtype().byteSize()), 8);
            src.backend().copyToHost(c, raw);
            MemorySegment out = raw;
            if (src.dtype() != dst.dtype()) {
                out = arena.allocate(Math.max(8, n * 4), 8);
                for (long i = 0; i < n; i++) {
                    short h = raw.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i);
                    float f = src.dtype() == DType.F16 ? HalfFloats.f16ToFloat(h) : HalfFloats.bf16ToFloat(h);
                    out.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, f);
                }
            }
            dst.backend().copyFromHost(out, dst);
        }
    }
}
