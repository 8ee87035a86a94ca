package dvp.engine.profile;

import dvp.engine.Tensor;
import dvp.engine.spi.ConvSpec;
import dvp.engine.spi.PoolSpec;

/**
 * FLOPs and bytes of a primitive call, from shapes alone (the profiler's roofline inputs).
 *
 * <p><b>Bytes</b> are the compulsory traffic: every tensor the primitive reads counted once,
 * every tensor it writes counted once (a tensor updated in place — running statistics, SGD's
 * parameter and momentum buffer, a matmul output with beta ≠ 0 — counts twice). Copies count
 * source read + destination written. A kernel that moves more (im2col panels, a second pass over
 * the input) shows up as a lower achieved GB/s, which is the point.
 *
 * <p><b>FLOPs</b> count multiply and add as one each (an FMA is 2), comparisons, max, exp and
 * rsqrt as one. Matrix ops: GEMM {@code 2·M·N·K}; convolution (forward, data gradient and filter
 * gradient alike) {@code 2·N·C_out·H_out·W_out·(C_in/groups)·k_h·k_w}. Elementwise and
 * normalisation ops use the operation count of their reference formula per element, given with
 * each method; per-channel or per-row O(C) work is ignored. Pure data movement has 0 FLOPs.
 */
public final class OpCosts {
    private OpCosts() {}

    /** Bytes of the given tensors (null entries skipped): numel × element size, summed. */
    public static long bytes(Tensor... ts) {
        long b = 0;
        for (Tensor t : ts) if (t != null) b += t.numel() * t.dtype().byteSize();
        return b;
    }

    /** {@code 2·N·C_out·H_out·W_out·(C_in/groups)·k_h·k_w}: one multiply-add per weight tap per output. */
    public static long conv2d(int[] x, int[] w, int[] y, ConvSpec spec) {
        long n = x[0], co = w[0], ciPerGroup = w[1], kh = w[2], kw = w[3], ho = y[2], wo = y[3];
        return 2L * n * co * ho * wo * ciPerGroup * kh * kw;
    }

    /** {@code 2·M·N·K} for out [M,N] = op(a) [M,K] · op(b) [K,N]. */
    public static long matmul(Tensor a, boolean transA, Tensor out) {
        long m = out.dim(0), n = out.dim(1), k = transA ? a.dim(0) : a.dim(1);
        return 2L * m * n * k;
    }

    /** {@code perElement × numel(t)}. */
    public static long elementwise(Tensor t, int perElement) { return perElement * t.numel(); }

    /**
     * Batch-norm forward, 6 per element: mean (1 add), biased variance (subtract, square, add),
     * normalise with per-channel scale and shift (multiply, add).
     */
    public static long batchNormForward(Tensor x) { return 6L * x.numel(); }

    /**
     * Batch-norm backward, 11 per element: Σdy (1), Σdy·x̂ with x̂ = (x−μ)·σ⁻¹ (2 + 2), and
     * dx = γσ⁻¹·(dy − mean(dy) − x̂·mean(dy·x̂)) recomputing x̂ (2 + 4).
     */
    public static long batchNormBackward(Tensor x) { return 11L * x.numel(); }

    /** Fused batch norm + residual add + ReLU forward: batch norm's 6, + 1 for the add, + 1 for the max. */
    public static long batchNormReluForward(Tensor x, boolean residual, boolean relu) {
        return (6L + (residual ? 1 : 0) + (relu ? 1 : 0)) * x.numel();
    }

    /** Its backward: batch norm's 11, + 1 for the ReLU mask (the residual's gradient is a copy of it). */
    public static long batchNormReluBackward(Tensor x, boolean relu) { return (11L + (relu ? 1 : 0)) * x.numel(); }

    /** Max-pool forward: one comparison per window tap per output. */
    public static long maxPoolForward(Tensor y, PoolSpec spec) { return y.numel() * spec.kernel() * spec.kernel(); }

    /**
     * Softmax cross-entropy forward, 4 per logit: running max, subtract, exp, add (the log and the
     * per-row loss are O(N)).
     */
    public static long crossEntropyForward(Tensor logits) { return 4L * logits.numel(); }

    /** Cross-entropy backward, 2 per logit: (p − target) and the scale by gradOut/N. */
    public static long crossEntropyBackward(Tensor probs) { return 2L * probs.numel(); }

    /**
     * Margin-InfoNCE, fused: the N·K queue logits and N positive logits ({@code 2·N·(K+1)·d}),
     * the online softmax over them (4 per logit: scale, max, exp, add) and, when the query
     * gradient is wanted, the same product again ({@code 2·N·(K+1)·d}).
     */
    public static long marginInfoNce(Tensor q, Tensor queue, boolean withGrad) {
        long n = q.dim(0), d = q.dim(1), k = queue.dim(0);
        long logits = n * (k + 1);
        return 2 * logits * d * (withGrad ? 2 : 1) + 4 * logits;
    }

    /** OFD loss forward, 6 per element: max(t, m), the two mask comparisons, s − t', square-add. */
    public static long ofdForward(Tensor s) { return 6L * s.numel(); }

    /** OFD loss backward, 5 per element: max(t, m), the mask, s − t', one scale. */
    public static long ofdBackward(Tensor s) { return 5L * s.numel(); }

    /**
     * One SGD step per element: weight decay {@code g + wd·p} (2), momentum
     * {@code momentum·buf + (1−dampening)·g} (3; none on the first step, where buf = g), Nesterov
     * {@code g + momentum·buf} (2), the update {@code p − lr·g} (2).
     */
    public static long sgd(Tensor param, float momentum, float weightDecay, boolean nesterov, boolean firstStep) {
        int per = 2;
        if (weightDecay != 0) per += 2;
        if (momentum != 0) {
            if (!firstStep) per += 3;
            if (nesterov) per += 2;
        }
        return per * param.numel();
    }

    /** SGD bytes: parameter read and written, gradient read, momentum buffer read (not on the first step) and written. */
    public static long sgdBytes(Tensor param, Tensor grad, Tensor buf, boolean firstStep) {
        long b = 2 * bytes(param) + bytes(grad);
        if (buf != null) b += (firstStep ? 1 : 2) * bytes(buf);
        return b;
    }
}
