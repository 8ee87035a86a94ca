package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.autograd.Autograd;
import dvp.engine.autograd.GradMode;
import dvp.engine.spi.Backend;

/**
 * MoCo's contrastive loss with the DVP margin on the positive logit, and the key queue it reads.
 * Keys (the positive and the queue) are constants: in MoCo they come from the momentum encoder
 * under no-grad and the queue is detached, so the loss has a gradient for q only.
 */
public final class Contrastive {
    private Contrastive() {}

    /** The loss (rank-0, differentiable in q) and the contrastive top-1 accuracy (rank-0, a fraction in [0, 1]). */
    public record InfoNce(Tensor loss, Tensor accuracy) {}

    /**
     * Batch mean of −log( e^{(q·k⁺−m)/τ} / (e^{(q·k⁺−m)/τ} + Σ_j e^{q·queue_j/τ}) ): MoCo's
     * cross-entropy over [l_pos − m, l_neg] / τ with label 0. q [N,d] (L2-normalised query
     * embeddings), kPos [N,d] (their positive keys), queue [K,d] (one key per row; MoCo's buffer
     * is the transpose). The accuracy is computed on the margin-shifted logits, as MoCo logs it
     * (a fraction here, MoCo prints percent). Nothing is synchronised with the host.
     *
     * <p>bf16 autocast ({@link Autocast}: the backend's {@code --precision bf16} or this thread's
     * override), or any input already BF16: q, kPos and the queue are cast to BF16 (as PyTorch's
     * autocast casts the operands of MoCo's two einsums) and both GEMMs run on bf16 inputs with fp32
     * accumulation and fp32 logits; the positive logit is the fp32 sum of the same rounded q and
     * k⁺ (like the negatives, so the softmax is that of one consistent set of logits); the
     * log-sum-exp, the loss and the accuracy are fp32, and dq accumulates in fp32 (its logit
     * gradient rounded to bf16 for the second GEMM). Loss and accuracy are F32; q's gradient has
     * q's dtype. The CPU (fp32 reference) refuses bf16.
     */
    public static InfoNce marginInfoNce(Tensor q, Tensor kPos, Tensor queue, float margin, float tau) {
        String op = "margin_infonce";
        Check.rank(op, "q", q, 2);
        Check.rank(op, "kPos", kPos, 2);
        Check.rank(op, "queue", queue, 2);
        for (Tensor t : new Tensor[]{q, kPos, queue})
            Check.that(t.dtype() == DType.F32 || t.dtype() == DType.BF16,
                    op + ": q, kPos and queue must be F32 or BF16, got " + q.describe() + ", " + kPos.describe() + " and " + queue.describe());
        Check.sameBackend(op, q, kPos, queue);
        int n = q.dim(0), d = q.dim(1);
        if (kPos.dim(0) != n || kPos.dim(1) != d || queue.dim(1) != d)
            throw new IllegalArgumentException(op + ": q " + Shape.str(q.shape()) + ", kPos " + Shape.str(kPos.shape()) + " and queue "
                    + Shape.str(queue.shape()) + " must be [N,d], [N,d] and [K,d]");
        Check.that(n > 0 && d > 0 && queue.dim(0) > 0, op + ": empty input: q " + Shape.str(q.shape()) + ", queue " + Shape.str(queue.shape()));
        Check.that(tau > 0 && Float.isFinite(tau), op + ": temperature must be positive and finite, got " + tau);
        Check.that(Float.isFinite(margin), op + ": margin must be finite, got " + margin);
        if (GradMode.isEnabled() && (kPos.requiresGrad() || queue.requiresGrad()))
            throw new IllegalArgumentException(op + ": the keys are constants of this loss and get no gradient, but "
                    + (kPos.requiresGrad() ? "kPos " + kPos.describe() : "queue " + queue.describe())
                    + " requires grad; encode keys under no-grad or detach() them");
        Backend be = q.backend();
        Tensor loss = Tensor.empty(be, DType.F32), accuracy = Tensor.empty(be, DType.F32);
        boolean wantGrad = Autograd.needsGrad(q);
        // The gradient for an upstream gradient of 1 comes out of the same pass over the queue
        // (F32 in both modes); backward only scales it.
        Tensor dqUnit = wantGrad ? Tensor.empty(be, DType.F32, n, d) : null;
        boolean bf16 = q.dtype() == DType.BF16 || kPos.dtype() == DType.BF16 || queue.dtype() == DType.BF16 || Autocast.lowers(q, queue);
        // Under bf16 the casts are the op's own (not recorded): the loss is recorded against q itself,
        // and its gradient, computed for the rounded q, is passed straight through the rounding as
        // the cast's backward would (Casts).
        Tensor cq = bf16 ? bf16(q) : Check.contiguous(q), ck = bf16 ? bf16(kPos) : Check.contiguous(kPos);
        Tensor cqueue = bf16 ? bf16(queue) : Check.contiguous(queue);
        be.marginInfoNceForward(cq, ck, cqueue, margin, tau, loss, accuracy, dqUnit);
        Autograd.record(op, loss, g -> {
            Tensor dq = Tensor.empty(be, DType.F32, n, d); // F32; Autograd casts it to a BF16 q's dtype
            be.scaleByScalarTensor(dqUnit, g, dq);
            return new Tensor[]{dq, null, null};
        }, q, kPos, queue);
        return new InfoNce(loss, accuracy);
    }

    /** t as a contiguous BF16 tensor (t itself when it is one), outside autograd: the op's own cast. */
    private static Tensor bf16(Tensor t) { return Casts.to(Check.contiguous(t).detach(), DType.BF16); }

    /**
     * MoCo's enqueue: queue rows [p, p+B) = keys and ptr = (p + B) mod K, with p = ptr's value.
     * ptr is an I64 tensor of one element (MoCo's {@code queue_ptr} buffer) that stays on the
     * device. K must be a multiple of B, so the pointer never straddles the end. Call it after
     * the loss has read the queue: a batch's keys are never its own negatives.
     */
    public static void enqueue(Tensor queue, Tensor keys, Tensor ptr) {
        String op = "enqueue";
        Check.rank(op, "queue", queue, 2);
        Check.rank(op, "keys", keys, 2);
        Check.dtype(op, "queue", queue, DType.F32);
        Check.dtype(op, "keys", keys, DType.F32);
        Check.dtype(op, "ptr", ptr, DType.I64);
        Check.sameBackend(op, queue, keys, ptr);
        Check.that(ptr.numel() == 1, op + ": ptr must hold one element, got " + Shape.str(ptr.shape()));
        int k = queue.dim(0), b = keys.dim(0);
        if (keys.dim(1) != queue.dim(1) || b == 0)
            throw new IllegalArgumentException(op + ": keys " + Shape.str(keys.shape()) + " do not fit queue " + Shape.str(queue.shape())
                    + " (expected [B, " + queue.dim(1) + "], B > 0)");
        if (k % b != 0)
            throw new IllegalArgumentException(op + ": queue size " + k + " is not a multiple of the batch " + b
                    + " (MoCo requires K % batch == 0)");
        Check.that(queue.isContiguous() && ptr.isContiguous(), op + ": queue and ptr must be contiguous (they are updated in place)");
        Check.that(!(GradMode.isEnabled() && keys.requiresGrad()), op + ": keys " + keys.describe() + " require grad; enqueue detached keys");
        queue.backend().enqueueKeys(queue, Check.contiguous(keys), ptr);
    }
}
