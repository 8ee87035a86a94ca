package dvp.training.moco;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.ops.Contrastive;
import dvp.engine.ops.Norm;
import dvp.engine.ops.Views;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.nn.models.NormFactory;
import dvp.nn.models.ResNet;
import dvp.training.model.ModelSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * MoCo v2 with DVP's margin (ALGORITHMS §2): query encoder f_q (trainable), key encoder f_k (the
 * exponential moving average of f_q's <b>parameters</b>; its BN buffers are its own), both a ResNet
 * whose fc is the MLP head featureDim → featureDim → dim, and the queue of K L2-normalised keys
 * with its pointer.
 *
 * <p>Invariants: f_k starts as an exact copy of f_q's parameters; its parameters never require
 * grad, never receive one and belong to no optimizer; {@link #momentumUpdate} runs once per
 * iteration <b>before</b> the keys are encoded; the loss reads the queue <b>before</b> the batch's
 * keys are enqueued. The queue is stored one key per row, [K, dim] (MoCo's buffer is the
 * transpose, [dim, K]); the pointer is a 1-element I64 tensor that stays on the device.
 *
 * <p>Single-device shuffle-BN substitute (§2.5): with {@code bnSplits > 1} every BN of both
 * encoders is a split BN, and {@link #step} permutes the keys' batch before f_k and un-permutes the
 * keys after, so a query's BN group and its key's BN group hold different images.
 */
public final class MocoModel {
    private final ResNet encoderQ, encoderK;
    private final Tensor queue, queuePtr;
    private final Tensor[] paramsQ, paramsK;
    private final float eta, etaComplement, margin, tau;

    /**
     * What one iteration produced: the loss (differentiable in f_q's parameters), the contrastive
     * top-1 on the margin-adjusted logits (the reference code's Acc@1), the keys enqueued, and, when
     * asked for, the positive's other ranks ({@link Ranks}; null otherwise).
     */
    public record Step(Tensor loss, Tensor accuracy, Tensor keys, Ranks ranks) {}

    /** Rank-0 fractions from {@link ContrastiveAccuracy}: top-5 on the margin-adjusted logits, top-1 and top-5 on the plain cosines. */
    public record Ranks(Tensor top5Margin, Tensor top1, Tensor top5) {}

    /**
     * Builds both encoders (f_k an exact copy of f_q) and the queue on {@link Backends#current()},
     * in the scope open now. Weight init and queue init draw from independent forks of rng.
     */
    public MocoModel(ModelSpec spec, int dim, int queueSize, int bnSplits, double keyMomentum, double margin, double temperature, Rng rng) {
        NormFactory norm = bnSplits > 1 ? NormFactory.splitBatchNorm(bnSplits) : NormFactory.batchNorm();
        encoderQ = spec.build(dim, norm, rng.fork(1));
        encoderQ.useMlpHead(rng.fork(2));
        encoderK = spec.build(dim, norm, rng.fork(1));
        encoderK.useMlpHead(rng.fork(2));
        Map<String, Tensor> q = encoderQ.namedParameters(), k = encoderK.namedParameters();
        List<Tensor> pq = new ArrayList<>(), pk = new ArrayList<>();
        try (var g = GradMode.noGrad()) {
            for (var e : q.entrySet()) {
                Tensor tk = k.get(e.getKey());
                tk.copyFrom(e.getValue()); // param_k.data.copy_(param_q.data)
                pq.add(e.getValue());
                pk.add(tk);
            }
        }
        encoderK.requiresGrad(false);
        paramsQ = pq.toArray(Tensor[]::new);
        paramsK = pk.toArray(Tensor[]::new);
        Backend be = Backends.current();
        queue = Tensor.empty(be, DType.F32, queueSize, dim);
        queuePtr = Tensor.empty(be, DType.I64, 1);
        be.fill(queuePtr, 0);
        // MoCo: randn(dim, K) normalised along dim, i.e. K random unit keys (one per row here)
        try (var g = GradMode.noGrad(); Scope s = Scope.open("queue-init")) {
            queue.copyFrom(Norm.l2Normalize(Tensor.of(be, rng.fork(3).normal(queueSize * dim, 0, 1), queueSize, dim)));
        }
        this.eta = (float) keyMomentum;
        this.etaComplement = (float) (1.0 - keyMomentum); // PyTorch: param_q * (1. - m), the factor rounded once
        this.margin = (float) margin;
        this.tau = (float) temperature;
    }

    public ResNet encoderQ() { return encoderQ; }

    public ResNet encoderK() { return encoderK; }

    /** [K, dim]: one L2-normalised key per row. */
    public Tensor queue() { return queue; }

    /** I64 [1]: the row the next batch of keys is written to. */
    public Tensor queuePtr() { return queuePtr; }

    /**
     * θ_k ← η·θ_k + (1−η)·θ_q for every parameter (not the BN buffers), in place, as MoCo computes it:
     * one {@code axpbyMulti} over all parameters (a device backend updates them in one or a few
     * launches, with the bits of a per-tensor {@code axpby}).
     */
    public void momentumUpdate() {
        try (var g = GradMode.noGrad()) {
            if (paramsK.length == 0) return;
            Backend be = paramsK[0].backend();
            boolean oneBackend = true;
            for (int i = 0; i < paramsK.length; i++) oneBackend &= paramsK[i].backend() == be && paramsQ[i].backend() == be;
            if (oneBackend) {
                be.axpbyMulti(eta, paramsK, etaComplement, paramsQ, paramsK);
            } else {
                for (int i = 0; i < paramsK.length; i++)
                    paramsK[i].backend().axpby(eta, paramsK[i], etaComplement, paramsQ[i], paramsK[i]);
            }
        }
    }

    /**
     * The key shuffle of one iteration as device index tensors (I64 [B] each): row i of the shuffled
     * batch is x_k[order[i]], and un-shuffling gathers row {@code inverse[i]} of the keys
     * (MoCo's idx_shuffle and idx_unshuffle = argsort(idx_shuffle)). Tensors, not host arrays, so a
     * captured CUDA graph replays with the permutation written into them before each replay.
     */
    public record KeyShuffle(Tensor order, Tensor inverse) {
        /** Checks that {@code order} is a permutation of 0..n-1 and uploads it and its inverse to {@code be}. */
        public static KeyShuffle of(Backend be, int[] order, int n) {
            checkPermutation(order, n);
            long[] o = new long[n], inv = new long[n];
            for (int i = 0; i < n; i++) {
                o[i] = order[i];
                inv[order[i]] = i;
            }
            return new KeyShuffle(Tensor.ofLongs(be, o, n), Tensor.ofLongs(be, inv, n));
        }
    }

    /**
     * One MoCo iteration up to the loss (ALGORITHMS §2.2), both encoders in training mode:
     * q = normalize(f_q(x_q)); under no-grad the momentum update, then
     * k = unshuffle(normalize(f_k(shuffle(x_k)))); loss = margin-InfoNCE(q, k, queue); then the keys
     * are enqueued. The caller runs backward on {@code loss} and the optimizer step on f_q.
     *
     * @param keyOrder the permutation applied to x_k before f_k (row i of the shuffled batch is
     *                 x_k[keyOrder[i]]), or null for none
     */
    public Step step(Tensor xq, Tensor xk, int[] keyOrder) { return step(xq, xk, keyOrder, false); }

    /** {@link #step(Tensor, Tensor, int[])}, and with {@code ranks} also the positive's {@link Ranks} against the queue it read. */
    public Step step(Tensor xq, Tensor xk, int[] keyOrder, boolean ranks) {
        return step(xq, xk, keyOrder == null ? null : KeyShuffle.of(xk.backend(), keyOrder, xk.dim(0)), ranks);
    }

    /**
     * The iteration with the key shuffle already on the device (null: none). Reads nothing from the
     * host and writes no host value into the device, so it can be captured as a CUDA graph: the
     * queue pointer is read and advanced on the device, the EMA is one {@code axpbyMulti}.
     */
    public Step step(Tensor xq, Tensor xk, KeyShuffle shuffle, boolean ranks) {
        Tensor q = Norm.l2Normalize(encoderQ.forward(xq));
        Tensor k;
        try (var g = GradMode.noGrad()) {
            momentumUpdate();
            Tensor in = shuffle == null ? xk : Views.gatherRows(xk, shuffle.order());
            Tensor kShuffled = Norm.l2Normalize(encoderK.forward(in));
            k = shuffle == null ? kShuffled : Views.gatherRows(kShuffled, shuffle.inverse());
        }
        Contrastive.InfoNce r = Contrastive.marginInfoNce(q, k, queue, margin, tau);
        Ranks rk = null;
        if (ranks) { // before the enqueue overwrites part of the queue these logits were formed against
            Tensor[] m5 = ContrastiveAccuracy.topK(q, k, queue, margin, 5), plain = ContrastiveAccuracy.topK(q, k, queue, 0f, 1, 5);
            rk = new Ranks(m5[0], plain[0], plain[1]);
        }
        Contrastive.enqueue(queue, k, queuePtr);
        return new Step(r.loss(), r.accuracy(), k, rk);
    }

    /** out[i] = x[order[i]] (MoCo's x[idx_shuffle]), through the device gather. */
    static Tensor gatherRows(Tensor x, int[] order) {
        return Views.gatherRows(x, KeyShuffle.of(x.backend(), order, x.dim(0)).order());
    }

    /** out[order[i]] = y[i], undoing {@link #gatherRows} (MoCo's k[idx_unshuffle]). */
    static Tensor scatterRows(Tensor y, int[] order) {
        return Views.gatherRows(y, KeyShuffle.of(y.backend(), order, y.dim(0)).inverse());
    }

    private static void checkPermutation(int[] order, int n) {
        if (order.length != n) throw new IllegalArgumentException("key shuffle: permutation of " + order.length + " for a batch of " + n);
        boolean[] seen = new boolean[n];
        for (int i : order) {
            if (i < 0 || i >= n || seen[i]) throw new IllegalArgumentException("key shuffle: not a permutation of 0.." + (n - 1));
            seen[i] = true;
        }
    }

    /**
     * The downstream weights (ALGORITHMS §2.6): f_q's state dict without the MLP head ({@code fc.*}),
     * torchvision keys. Live tensors.
     */
    public Map<String, Tensor> backboneStateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        encoderQ.stateDict().forEach((key, t) -> { if (!key.startsWith("fc.")) out.put(key, t); });
        return out;
    }
}
