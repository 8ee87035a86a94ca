package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.cuda.ffm.Cublas;

import static dvp.engine.cuda.Addr.of;

/**
 * Row-major GEMMs on column-major cuBLAS: a row-major [r, c] matrix is its transpose in column-major
 * with leading dimension c, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T, i.e. cuBLAS
 * with the operands swapped and m/n exchanged. fp32 inputs use COMPUTE_32F (true fp32) or
 * COMPUTE_32F_FAST_TF32 when TF32 is enabled; bf16/fp16 inputs use fp32 accumulation and write
 * the output's dtype. CPU reference: Sgemm (via CpuBackend.matmul). UNVERIFIED on a GPU.
 */
final class CudaBlas {
    private CudaBlas() {}

    static int cudaType(String op, Tensor t) {
        return switch (t.dtype()) {
            case F32 -> Cublas.CUDA_R_32F;
            case BF16 -> Cublas.CUDA_R_16BF;
            case F16 -> Cublas.CUDA_R_16F;
            default -> throw new IllegalArgumentException(op + ": cuBLAS GEMM needs F32, BF16 or F16, got " + t.describe());
        };
    }

    static int computeType(CudaContext ctx, Tensor a, Tensor b) {
        boolean fp32 = a.dtype() == DType.F32 && b.dtype() == DType.F32;
        return fp32 && ctx.tf32 ? Cublas.COMPUTE_32F_FAST_TF32 : Cublas.COMPUTE_32F;
    }

    static void matmul(CudaContext ctx, Tensor a, boolean transA, Tensor b, boolean transB, Tensor out, float alpha, float beta) {
        // Backend.matmul's contract: all F32, or all BF16 (fp32 accumulation, out rounded once to bf16)
        boolean f32 = a.dtype() == DType.F32 && b.dtype() == DType.F32 && out.dtype() == DType.F32;
        boolean bf16 = a.dtype() == DType.BF16 && b.dtype() == DType.BF16 && out.dtype() == DType.BF16;
        if (!f32 && !bf16)
            throw new IllegalArgumentException("matmul: a, b and out must be all F32 or all BF16, got " + a.describe() + ", "
                    + b.describe() + " and " + out.describe());
        int m = out.dim(0), n = out.dim(1), k = transA ? a.dim(0) : a.dim(1);
        if (m == 0 || n == 0) return;
        ctx.blas.gemmEx(transB ? Cublas.OP_T : Cublas.OP_N, transA ? Cublas.OP_T : Cublas.OP_N, n, m, k, alpha,
                of(b), cudaType("matmul", b), Math.max(1, b.dim(1)), of(a), cudaType("matmul", a), Math.max(1, a.dim(1)),
                beta, of(out), cudaType("matmul", out), n, computeType(ctx, a, b));
    }

    /** out[i] = op(a[i]) @ op(b[i]) for i < batch: a [B, *, *], b [B, *, *], out [B, M, N], all contiguous. */
    static void batchedMatmul(CudaContext ctx, Tensor a, boolean transA, Tensor b, boolean transB, Tensor out) {
        int batch = out.dim(0), m = out.dim(1), n = out.dim(2), k = transA ? a.dim(1) : a.dim(2);
        if (batch == 0 || m == 0 || n == 0) return;
        long sa = (long) a.dim(1) * a.dim(2), sb = (long) b.dim(1) * b.dim(2), sc = (long) m * n;
        ctx.blas.gemmStridedBatchedEx(transB ? Cublas.OP_T : Cublas.OP_N, transA ? Cublas.OP_T : Cublas.OP_N, n, m, k, 1f,
                of(b), cudaType("bmm", b), Math.max(1, b.dim(2)), sb, of(a), cudaType("bmm", a), Math.max(1, a.dim(2)), sa,
                0f, of(out), cudaType("bmm", out), n, sc, batch, computeType(ctx, a, b));
    }
}
