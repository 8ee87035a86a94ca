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
     */
    public static InfoNce marginInfoNce(Tensor q, Tensor kPos, Tensor queue, float margin, float tau) {
        String op = "margin_infonce";
        q = Autocast.fp32(q); kPos = Autocast.fp32(kPos); // fp32 list (Autocast)
        Check.rank(op, "q", q, 2);
        Check.rank(op, "kPos", kPos, 2);
        Check.rank(op, "queue", queue, 2);
        for (Tensor t : new Tensor[]{q, kPos, queue}) Check.dtype(op, "inputs", t, DType.F32);
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
        // The gradient for an upstream gradient of 1 comes out of the same pass over the queue;
        // backward only scales it.
        Tensor dqUnit = wantGrad ? Tensor.empty(be, DType.F32, n, d) : null;
        be.marginInfoNceForward(Check.contiguous(q), Check.contiguous(kPos), Check.contiguous(queue), margin, tau, loss, accuracy, dqUnit);
        Autograd.record(op, loss, g -> {
            Tensor dq = Tensor.empty(be, DType.F32, n, d);
            be.scaleByScalarTensor(dqUnit, g, dq);
            return new Tensor[]{dq, null, null};
        }, q, kPos, queue);
        return new InfoNce(loss, accuracy);
    }

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
