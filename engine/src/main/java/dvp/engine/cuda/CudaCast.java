package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Tensor;

import static dvp.engine.cuda.Addr.of;

/**
 * Backend.cast on the device (kernels/src/main/cuda/cast.cu), on dense tensors of one layout (contiguous
 * or channels-last: memory slot i to memory slot i): one grid-stride launch, 4 elements
 * per step where the fp32 side is 16-byte and the bf16 side 8-byte aligned, scalar otherwise.
 * CPU reference: CpuCast; bit-identical by construction (the same cvt.rn rounding).
 */
final class CudaCast {
    private CudaCast() {}

    static void cast(CudaContext c, Tensor src, Tensor dst) {
        boolean toBf16 = src.dtype() == DType.F32 && dst.dtype() == DType.BF16;
        if (!toBf16 && !(src.dtype() == DType.BF16 && dst.dtype() == DType.F32))
            throw new IllegalArgumentException("cast: converts F32 to BF16 or BF16 to F32, got " + src.describe() + " into " + dst.describe());
        // the kernel maps memory slot i to slot i: both dense (contiguous or channels-last) with the same strides
        if (src.numel() != dst.numel() || src.memoryFormat() == null || !java.util.Arrays.equals(src.strides(), dst.strides()))
            throw new IllegalArgumentException("cast: needs dense tensors of the same size in one layout (contiguous or channels-last, equal strides), got "
                    + src.describe() + " into " + dst.describe());
        long n = src.numel();
        if (n == 0) return;
        long f32 = toBf16 ? of(src) : of(dst), bf16 = toBf16 ? of(dst) : of(src);
        long quads = f32 % 16 == 0 && bf16 % 8 == 0 ? n / 4 : 0;
        c.launch(toBf16 ? "dvp_cast_f32_bf16" : "dvp_cast_bf16_f32", c.grid(Math.max(quads, n - 4 * quads), 256), 1, 256, 0,
                new KernelArgs().i64(n).i64(quads).ptr(of(src)).ptr(of(dst)));
    }
}
