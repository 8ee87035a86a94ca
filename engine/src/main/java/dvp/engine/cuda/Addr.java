package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Tensor;

/** Device addresses of tensors and the dtype checks every CUDA primitive starts with. */
final class Addr {
    private Addr() {}

    /** Address of element 0 of t (storage base + view offset). */
    static long of(Tensor t) {
        return ((CudaStorage) t.storage()).address() + t.offset() * t.dtype().byteSize();
    }

    /** Address of t, or 0 (a null pointer) when t is null. */
    static long orNull(Tensor t) { return t == null ? 0 : of(t); }

    /**
     * The element type of a kernel that stores F32 or BF16 (bf16 autocast's activations) and computes
     * in fp32: the non-null tensors must be all F32 or all BF16, else the error names the op and every
     * tensor; returns whether they are BF16 (the kernel's *_bf16 version runs).
     */
    static boolean bf16(String op, Tensor... ts) {
        DType d = null;
        boolean ok = true;
        for (Tensor t : ts) {
            if (t == null) continue;
            if (d == null) d = t.dtype();
            ok &= t.dtype() == d;
        }
        if (d == null) return false;
        if (!ok || (d != DType.F32 && d != DType.BF16)) {
            StringBuilder got = new StringBuilder();
            for (Tensor t : ts) if (t != null) got.append(got.isEmpty() ? "" : ", ").append(t.describe());
            throw new IllegalArgumentException(op + ": the CUDA backend needs these tensors all F32 or all BF16 (one element type), got " + got);
        }
        return d == DType.BF16;
    }

    /** The kernels compute in F32: any other dtype is an error, never a silent reinterpretation. */
    static void f32(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && t.dtype() != DType.F32)
                throw new IllegalArgumentException(op + ": the CUDA backend computes in F32, got " + t.describe());
        }
    }
}
