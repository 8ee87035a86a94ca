package dvp.engine.cpu;

import dvp.engine.Bf16;
import dvp.engine.DType;
import dvp.engine.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The F32 ↔ BF16 casts (Backend.cast), element by element through {@link Bf16}: the reference the
 * CUDA kernels (kernels/src/main/cuda/cast.cu) must match bit for bit.
 */
final class CpuCast {
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT;

    private CpuCast() {}

    static void cast(Tensor src, Tensor dst) {
        check(src, dst);
        MemorySegment s = Mem.seg(src), d = Mem.seg(dst);
        long sb = Mem.base(src), db = Mem.base(dst), n = src.numel();
        if (src.dtype() == DType.F32) {
            for (long i = 0; i < n; i++) d.set(S, db + 2 * i, Bf16.fromFloat(s.get(Mem.F, sb + 4 * i)));
        } else {
            for (long i = 0; i < n; i++) d.set(Mem.F, db + 4 * i, Bf16.toFloat(s.get(S, sb + 2 * i)));
        }
    }

    /** The contract of Backend.cast (CudaCast checks the same). */
    static void check(Tensor src, Tensor dst) {
        boolean f32ToBf16 = src.dtype() == DType.F32 && dst.dtype() == DType.BF16;
        boolean bf16ToF32 = src.dtype() == DType.BF16 && dst.dtype() == DType.F32;
        if (!f32ToBf16 && !bf16ToF32)
            throw new IllegalArgumentException("cast: converts F32 to BF16 or BF16 to F32, got " + src.describe() + " into " + dst.describe());
        if (src.numel() != dst.numel())
            throw new IllegalArgumentException("cast: sizes differ: " + src.describe() + " into " + dst.describe());
        // element i of memory to element i of memory: both dense (contiguous or channels-last) with the same strides
        if (src.memoryFormat() == null || !java.util.Arrays.equals(src.strides(), dst.strides()))
            throw new IllegalArgumentException("cast: needs dense tensors in one layout (contiguous or channels-last, equal strides), got "
                    + src.describe() + " into " + dst.describe());
    }
}
