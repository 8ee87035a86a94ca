package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.autograd.Autograd;
import dvp.engine.autograd.GradMode;
import dvp.engine.spi.Backend;

import java.util.Arrays;

/**
 * Overhaul-of-Feature-Distillation (OFD) loss: a margin-ReLU on the teacher's pre-ReLU feature
 * and a partial L2 that skips elements the student's ReLU would zero anyway.
 */
public final class Distill {
    private Distill() {}

    /**
     * OFD's per-channel margin from the teacher's BN affine parameters (OFD/DVP
     * {@code get_margin_from_BN}): with σ = |γ_c|, μ = β_c, the expectation of a N(μ, σ²) response
     * given it is negative, m_c = μ − σ·φ(μ/σ)/Φ(−μ/σ), or −3σ where Φ(−μ/σ) ≤ 0.001; γ_c = 0
     * (where the original divides by zero) gives m_c = 0. Computed in double, stored as F32 [C]
     * on gamma's device. Reads γ and β to the host once (call it once, at construction).
     *
     * @throws IllegalStateException if a margin is not negative (non-finite γ or β)
     */
    public static Tensor ofdMargin(Tensor gamma, Tensor beta) {
        Check.rank("ofd_margin", "gamma", gamma, 1);
        Check.vector("ofd_margin", "beta", beta, gamma.dim(0));
        Check.sameBackend("ofd_margin", gamma, beta);
        float[] g = gamma.toFloatArray(), b = beta.toFloatArray();
        float[] m = new float[g.length];
        for (int c = 0; c < g.length; c++) {
            double v = ofdMargin(g[c], b[c]);
            if (!(v < 0 || (v == 0 && g[c] == 0)))
                throw new IllegalStateException("ofd_margin: channel " + c + " has gamma " + g[c] + ", beta " + b[c]
                        + " and margin " + v + "; a margin must be negative (0 only for gamma = 0)");
            m[c] = (float) v;
        }
        return Tensor.of(gamma.backend(), m, g.length);
    }

    /** The margin of one channel (see {@link #ofdMargin(Tensor, Tensor)}), in double. */
    public static double ofdMargin(double gamma, double beta) {
        double sigma = Math.abs(gamma), mu = beta;
        if (sigma == 0) return 0;
        double tail = NormalDistribution.cdf(-mu / sigma);
        if (tail > 0.001) return mu - sigma * NormalDistribution.pdf(mu / sigma) / tail;
        return -3 * sigma;
    }

    /**
     * w · Σ mask·(s − t')² with t' = max(t, margin_c), mask = (s > t') or (t' > 0): the OFD
     * distillation distance of one stage (a <b>sum</b> over N·C·H·W, not a mean) times the stage
     * weight w. s [N, C, ...] is the connector output (differentiable); t (same shape) is the
     * teacher's pre-ReLU feature and margin [C] comes from {@link #ofdMargin}: both are constants
     * and must not require grad. NCHW or any other dense layout that s and t share (e.g.
     * channels-last) is used as it is; the gradient comes back in s's layout. s and t are both
     * F32 or both BF16 (bf16 activations under autocast: read as such, every operation and the
     * loss in fp32, the gradient rounded once to bf16); one BF16 and one F32 are both computed in
     * F32 (PyTorch's promotion), the BF16 one through the differentiable cast; the gradient has s's dtype, the margin is
     * F32. Returns a rank-0 F32 loss; deterministic, no host synchronisation.
     */
    public static Tensor ofdLoss(Tensor s, Tensor t, Tensor margin, float w) {
        String op = "ofd_loss";
        if (s.dtype() != t.dtype()) { // bf16 with fp32 computes in fp32, as PyTorch promotes them
            s = Autocast.fp32(s);
            t = Autocast.fp32(t);
        }
        if (s.rank() < 2) throw new IllegalArgumentException(op + ": s must be [N, C, ...], got " + Shape.str(s.shape()));
        Check.sameShape(op, s, t);
        int c = s.dim(1);
        Check.vector(op, "margin", margin, c);
        Check.sameBackend(op, s, margin);
        Check.that((s.dtype() == DType.F32 || s.dtype() == DType.BF16) && t.dtype() == s.dtype(),
                op + ": s and t must be both F32 or both BF16, got s " + s.describe() + " and t " + t.describe());
        Check.dtype(op, "margin", margin, DType.F32);
        Check.that(Float.isFinite(w), op + ": stage weight must be finite, got " + w);
        if (GradMode.isEnabled() && (t.requiresGrad() || margin.requiresGrad()))
            throw new IllegalArgumentException(op + ": the teacher feature and the margin are constants of this loss, but "
                    + (t.requiresGrad() ? "t " + t.describe() : "margin " + margin.describe())
                    + " requires grad; run the teacher under no-grad or detach() its features");
        Backend be = s.backend();
        Tensor cm = Check.contiguous(margin);
        boolean shared = isDense(s) && Arrays.equals(s.strides(), t.strides());
        Tensor cs = shared ? s : Check.contiguous(s), ct = shared ? t : Check.contiguous(t);
        int channelStride = c == 1 ? 1 : (int) cs.strides()[1];
        Tensor loss = Tensor.empty(be, DType.F32);
        be.ofdLossForward(cs, ct, cm, w, channelStride, loss);
        return Autograd.record(op, loss, g -> {
            Tensor ds = emptyLike(cs);
            be.ofdLossBackward(cs, ct, cm, w, channelStride, g, ds);
            return new Tensor[]{ds, null, null};
        }, s, t, margin);
    }

    /** Whether t's elements fill numel consecutive memory slots in some dimension order (size-1 dims ignored). */
    static boolean isDense(Tensor t) {
        int[] shape = t.shape();
        long[] st = t.strides();
        Integer[] order = dimsByStride(shape, st);
        long expect = 1;
        for (int k = order.length - 1; k >= 0; k--) {
            int dim = order[k];
            if (shape[dim] == 1) continue;
            if (st[dim] != expect) return false;
            expect *= shape[dim];
        }
        return true;
    }

    /** An uninitialised tensor with t's shape and t's (dense) dimension order. */
    static Tensor emptyLike(Tensor t) {
        if (t.isContiguous()) return Tensor.empty(t.backend(), t.dtype(), t.shape());
        int[] shape = t.shape();
        Integer[] order = dimsByStride(shape, t.strides());
        int[] physical = new int[shape.length], inverse = new int[shape.length];
        for (int k = 0; k < order.length; k++) {
            physical[k] = shape[order[k]];
            inverse[order[k]] = k;
        }
        return Tensor.empty(t.backend(), t.dtype(), physical).permute(inverse);
    }

    /** Dimensions from outermost (largest stride) to innermost; ties keep the logical order. */
    private static Integer[] dimsByStride(int[] shape, long[] strides) {
        Integer[] order = new Integer[shape.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Long.compare(strides[b], strides[a]));
        return order;
    }
}
