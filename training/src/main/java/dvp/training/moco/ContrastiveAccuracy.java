package dvp.training.moco;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.spi.Backend;

/**
 * Where each query's positive key ranks among [positive, queue], as top-k accuracies, on the
 * device and without synchronising with the host (the step's other scalars are read once per
 * logging interval; these join them).
 *
 * <p>Two readings of the same logits are reported by phase 1 (issue 20, item 5):
 * <ul>
 *   <li><b>margin-adjusted</b> ({@code shift} = m): the positive scores q·k⁺ − m, the logit the
 *       loss uses. This is what the reference code's {@code accuracy(output, target, (1, 5))}
 *       prints as Acc@1/Acc@5. With m = 0.4 on cosines it stays near 0 until the positive beats
 *       every negative by 0.4, which on small, look-alike datasets may never happen;</li>
 *   <li><b>plain</b> ({@code shift} = 0): the positive scores q·k⁺, the cosine itself — how often
 *       the other view of the same image is the query's nearest key, which moves from chance
 *       (1/(K+1)) as soon as the encoder learns anything.</li>
 * </ul>
 * A query counts as correct at k when fewer than k queue keys score strictly above its positive
 * (ties count for the positive, as the fused loss's own top-1 does).
 *
 * <p>Built from existing backend primitives (a GEMM, a row-vector add, the ReLU mask as a step
 * function, row sums), so every backend runs it as it runs those.
 */
public final class ContrastiveAccuracy {
    private ContrastiveAccuracy() {}

    /**
     * @param q     [N, d] L2-normalised queries
     * @param kPos  [N, d] their positive keys
     * @param queue [K, d] the negatives, one key per row (read before this batch's keys are enqueued)
     * @param shift subtracted from the positive's score (the margin m, or 0)
     * @param ks    the k of each top-k wanted, each ≥ 1
     * @return one rank-0 F32 fraction in [0, 1] per k
     */
    public static Tensor[] topK(Tensor q, Tensor kPos, Tensor queue, float shift, int... ks) {
        int n = q.dim(0), d = q.dim(1), keys = queue.dim(0);
        if (kPos.dim(0) != n || kPos.dim(1) != d || queue.dim(1) != d)
            throw new IllegalArgumentException("contrastive accuracy: q, kPos and queue must be [N,d], [N,d], [K,d]");
        Backend be = q.backend();
        try (var g = GradMode.noGrad()) {
            // the positive's score per query: rowsum(q ∘ k⁺) − shift, as a GEMM with a ones vector
            Tensor prod = Tensor.empty(be, DType.F32, n, d);
            be.mul(q.isContiguous() ? q : q.copyContiguous(), kPos.isContiguous() ? kPos : kPos.copyContiguous(), prod);
            Tensor ones = Tensor.empty(be, DType.F32, Math.max(d, Math.max(keys, n)));
            be.fill(ones, 1);
            Tensor pos = Tensor.empty(be, DType.F32, n, 1);
            be.matmul(prod, false, ones.narrow0(0, d).view(d, 1), false, pos, 1f, 0f);
            Tensor negPos = Tensor.empty(be, DType.F32, n);
            be.scaleShift(pos.view(n), -1f, shift, negPos); // −(s⁺ − shift)
            // margin of every negative over its query's positive: [K, N], column i for query i
            Tensor over = Tensor.empty(be, DType.F32, keys, n);
            be.matmul(queue.isContiguous() ? queue : queue.copyContiguous(), false, q.isContiguous() ? q : q.copyContiguous(), true, over, 1f, 0f);
            be.addRowVector(over, negPos, over);
            // 1 where a negative scores strictly above the positive (ReLU's backward mask is the step function)
            Tensor onesKn = Tensor.empty(be, DType.F32, keys, n);
            be.fill(onesKn, 1);
            Tensor beats = Tensor.empty(be, DType.F32, keys, n);
            be.reluBackward(over, onesKn, beats);
            Tensor above = Tensor.empty(be, DType.F32, n); // negatives above each query's positive (exact: summed in double)
            be.sumRows(beats, above);
            Tensor[] out = new Tensor[ks.length];
            Tensor room = Tensor.empty(be, DType.F32, n), hit = Tensor.empty(be, DType.F32, n);
            for (int j = 0; j < ks.length; j++) {
                if (ks[j] < 1) throw new IllegalArgumentException("contrastive accuracy: k must be >= 1, got " + ks[j]);
                be.scaleShift(above, -1f, ks[j] - 0.5f, room); // > 0 exactly when fewer than k negatives are above
                be.reluBackward(room, ones.narrow0(0, n), hit);
                Tensor acc = Tensor.empty(be, DType.F32);
                be.sumAll(hit, acc);
                be.scaleShift(acc, 1f / n, 0f, acc);
                out[j] = acc;
            }
            return out;
        }
    }
}
