package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Tensor;

import static dvp.engine.cuda.Addr.of;
import static dvp.engine.cuda.Addr.orNull;

/**
 * Margin-InfoNCE, flash-style over queue tiles with fp32 logits and double running sums, and the
 * device-side ring-buffer enqueue: kernels/src/main/cuda/margin_infonce.cu. CPU reference:
 * CpuContrastive / CpuBackend.enqueueKeys. UNVERIFIED on a GPU.
 */
final class CudaContrastive {
    static final int ROWS = 8, TILE = 32, MAX_D = 256;
    /** Keys per split aimed at; the split count depends on K alone (deterministic results). */
    static final long KEYS_PER_SPLIT = 2048, MAX_SPLITS = 32;

    private CudaContrastive() {}

    static void forward(CudaContext c, Tensor q, Tensor kPos, Tensor queue, float margin, float tau, Tensor loss,
                        Tensor accuracy, Tensor dq) {
        Addr.f32("marginInfoNceForward", q, kPos, queue, loss, accuracy, dq);
        long n = q.dim(0), d = q.dim(1), k = queue.dim(0);
        if (d > MAX_D) throw new IllegalArgumentException("marginInfoNce: the CUDA kernel supports feature dimensions up to " + MAX_D + ", got " + d);
        // An empty queue (K = 0) has no splits: the combine kernel then sees only the positive logit
        // (loss 0, accuracy 1, dq 0, as the reference); it must still run, or the final kernel would
        // read rowLoss/hit that nothing wrote.
        long splits = 0, keysPer = 0;
        if (k > 0) {
            splits = Math.min(MAX_SPLITS, Math.max(1, (k + KEYS_PER_SPLIT - 1) / KEYS_PER_SPLIT));
            keysPer = ((k + splits - 1) / splits + TILE - 1) / TILE * TILE;
            splits = (k + keysPer - 1) / keysPer; // every split non-empty
        }
        long parts = n * splits;
        CachingAllocator.Block pmax = c.scratch(Math.max(8, 4 * parts)), psum = c.scratch(Math.max(8, 8 * parts));
        CachingAllocator.Block pacc = c.scratch(Math.max(8, 8 * parts * d));
        CachingAllocator.Block rowLoss = c.scratch(Math.max(8, 8 * n)), hit = c.scratch(Math.max(8, 4 * n));
        try {
            if (n > 0) {
                if (k > 0)
                    c.launch("dvp_infonce_partials", (int) ((n + ROWS - 1) / ROWS), (int) splits, 32 * ROWS, 0, new KernelArgs()
                            .i64(n).i64(d).i64(k).i64(keysPer).f32(tau).ptr(of(q)).ptr(of(queue))
                            .ptr(pmax.address).ptr(psum.address).ptr(pacc.address));
                c.launch("dvp_infonce_combine", (int) ((n * 32 + 255) / 256), 1, 256, 0, new KernelArgs()
                        .i64(n).i64(d).i64(splits).f32(margin).f32(tau).ptr(of(q)).ptr(of(kPos)).ptr(pmax.address)
                        .ptr(psum.address).ptr(pacc.address).ptr(rowLoss.address).ptr(hit.address).ptr(orNull(dq)));
            }
            c.launch("dvp_infonce_final", 1, 1, 256, 0, new KernelArgs().i64(n).ptr(rowLoss.address).ptr(hit.address)
                    .ptr(of(loss)).ptr(of(accuracy)));
        } finally {
            c.allocator.free(pmax);
            c.allocator.free(psum);
            c.allocator.free(pacc);
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
