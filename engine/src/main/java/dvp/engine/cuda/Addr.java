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

    /** The kernels compute in F32: any other dtype is an error, never a silent reinterpretation. */
    static void f32(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && t.dtype() != DType.F32)
                throw new IllegalArgumentException(op + ": the CUDA backend computes in F32, got " + t.describe());
        }
    }
}
