package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.cuda.ffm.Cublas;

import static dvp.engine.cuda.Addr.of;
import static dvp.engine.cuda.Addr.orNull;

/**
 * Margin-InfoNCE on cuBLAS and the device-side ring-buffer enqueue: kernels/src/main/cuda/margin_infonce.cu.
 * Forward: logits = q·queue^T (GEMM), one fused kernel per row (margin, temperature, log-sum-exp,
 * row loss, hit, and the logit gradient G), then dq += G·queue (GEMM, beta = 1) and the mean.
 * q, kPos and the queue are all F32 (fp32 GEMMs, TF32 only when the backend's switch is on; G is
 * written over the logits) or all BF16 (autocast: both GEMMs bf16 × bf16 with fp32 accumulation
 * into the fp32 logits and the fp32 dq; G rounded to bf16 into its own [N, K] buffer); loss,
 * accuracy and dq are F32 either way. CPU reference: CpuContrastive (fp32; for bf16, on the bf16
 * values) / CpuBackend.enqueueKeys. Verified in simulation, not on hardware.
 */
final class CudaContrastive {
    private CudaContrastive() {}

    static void forward(CudaContext c, Tensor q, Tensor kPos, Tensor queue, float margin, float tau, Tensor loss,
                        Tensor accuracy, Tensor dq) {
        String op = "marginInfoNceForward";
        boolean f32 = q.dtype() == DType.F32 && kPos.dtype() == DType.F32 && queue.dtype() == DType.F32;
        boolean bf16 = q.dtype() == DType.BF16 && kPos.dtype() == DType.BF16 && queue.dtype() == DType.BF16;
        if (!f32 && !bf16)
            throw new IllegalArgumentException(op + ": q, kPos and queue must be all F32 or all BF16, got " + q.describe() + ", "
                    + kPos.describe() + " and " + queue.describe());
        Addr.f32(op, loss, accuracy, dq);
        for (Tensor t : new Tensor[]{q, kPos, queue, dq})
            if (t != null && !t.isContiguous()) throw new IllegalArgumentException(op + ": " + t.describe() + " must be contiguous");
        long n = q.dim(0), d = q.dim(1), k = queue.dim(0);
        if (n > Integer.MAX_VALUE || k > Integer.MAX_VALUE || d > Integer.MAX_VALUE)
            throw new IllegalArgumentException(op + ": N " + n + ", d " + d + ", K " + k + " exceed cuBLAS's int dimensions");
        // The logits of the whole batch (fp32, the GEMM's output). fp32: then the logit gradient
        // (the dq GEMM's input), in place; bf16: the gradient has its own bf16 buffer.
        CachingAllocator.Block logits = c.scratch(Math.max(8, 4 * n * k));
        CachingAllocator.Block grad = bf16 && dq != null ? c.scratch(Math.max(8, 2 * n * k)) : null;
        CachingAllocator.Block rowLoss = c.scratch(Math.max(8, 8 * n)), hit = c.scratch(Math.max(8, 4 * n));
        int in = bf16 ? Cublas.CUDA_R_16BF : Cublas.CUDA_R_32F;
        int compute = f32 && c.tf32 ? Cublas.COMPUTE_32F_FAST_TF32 : Cublas.COMPUTE_32F;
        try {
            if (n > 0) {
                // row-major logits[N, K] = q[N, d] · queue[K, d]^T, i.e. column-major logits^T = queue · q^T
                if (k > 0)
                    c.blas.gemmEx(Cublas.OP_T, Cublas.OP_N, (int) k, (int) n, (int) d, 1f, of(queue), in, (int) Math.max(1, d),
                            of(q), in, (int) Math.max(1, d), 0f, logits.address, Cublas.CUDA_R_32F, (int) k, compute);
                // An empty queue (K = 0) still runs the row kernel: only the positive logit remains
                // (loss 0, accuracy 1, dq 0, as the reference).
                // (each launch spells out its arguments: KernelSignatureTest checks them against the kernel's)
                if (bf16)
                    c.launch("dvp_infonce_rows_bf16", (int) n, 1, 256, 0, new KernelArgs().i64(n).i64(d).i64(k).f32(margin).f32(tau)
                            .ptr(of(q)).ptr(of(kPos)).ptr(logits.address).ptr(rowLoss.address).ptr(hit.address).ptr(orNull(dq))
                            .ptr(grad == null ? 0 : grad.address));
                else
                    c.launch("dvp_infonce_rows", (int) n, 1, 256, 0, new KernelArgs().i64(n).i64(d).i64(k).f32(margin).f32(tau)
                            .ptr(of(q)).ptr(of(kPos)).ptr(logits.address).ptr(rowLoss.address).ptr(hit.address).ptr(orNull(dq)));
                // row-major dq[N, d] += G[N, K] · queue[K, d] (fp32 accumulation into the fp32 dq)
                if (dq != null && k > 0 && d > 0)
                    c.blas.gemmEx(Cublas.OP_N, Cublas.OP_N, (int) d, (int) n, (int) k, 1f, of(queue), in, (int) d,
                            bf16 ? grad.address : logits.address, in, (int) k, 1f, of(dq), Cublas.CUDA_R_32F, (int) d, compute);
            }
            c.launch("dvp_infonce_final", 1, 1, 256, 0, new KernelArgs().i64(n).ptr(rowLoss.address).ptr(hit.address)
                    .ptr(of(loss)).ptr(of(accuracy)));
        } finally {
            c.allocator.free(logits);
            if (grad != null) c.allocator.free(grad);
            c.allocator.free(rowLoss);
            c.allocator.free(hit);
        }
    }

    static void enqueue(CudaContext c, Tensor queue, Tensor keys, Tensor ptr) {
        Addr.f32("enqueueKeys", queue, keys);
        if (ptr.dtype() != DType.I64) throw new IllegalArgumentException("enqueueKeys: ptr must be I64, got " + ptr.describe());
        long k = queue.dim(0), b = keys.dim(0), d = queue.dim(1), total = keys.numel();
        c.launch1d("dvp_enqueue_copy", total, new KernelArgs().i64(total).i64(k).i64(b).i64(d).ptr(of(keys)).ptr(of(queue))
                .ptr(of(ptr)).ptr(c.errorWordAddress()));
        c.launch("dvp_enqueue_advance", 1, 1, 1, 0, new KernelArgs().i64(k).i64(b).ptr(of(ptr)));
    }
}
