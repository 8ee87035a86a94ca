package dvp.nn.optim;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.spi.Backend;
import dvp.nn.Grads;
import dvp.nn.TensorTransfer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * torch.optim.SGD, exactly: for each parameter with a gradient,
 * <pre>
 *   g = grad + wd·p
 *   buf = first step ? g : momentum·buf + (1 − dampening)·g       (momentum ≠ 0)
 *   g = nesterov ? g + momentum·buf : buf
 *   p -= lr·g
 * </pre>
 * computed by the backend's {@code sgdUpdateMulti} primitive (all of a group's tensors at once). Parameters whose gradient is null are
 * skipped (and keep their momentum buffer untouched), as in PyTorch.
 *
 * <p>Parameters are given by name (from {@code module.namedParameters()}), in parameter groups,
 * each with its own lr / momentum / dampening / weight decay / Nesterov (unset values default to the
 * builder's). The name identifies a parameter's optimizer state: {@link #momentumBuffers()}
 * exports the buffers by name for checkpoints and {@link #loadMomentumBuffers} restores them.
 *
 * <p><b>Memory.</b> Momentum buffers are allocated lazily, on the first step, in the scope that
 * was current when the optimizer was built (never in a step's scope), as is each group's one-element
 * lr tensor per backend; {@link #close()} frees them.
 */
public final class Sgd implements AutoCloseable {
    /** Hyperparameters of one group (PyTorch's param_group options). */
    public record Hyper(double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
        public Hyper {
            if (!(lr >= 0)) throw new IllegalArgumentException("SGD: invalid learning rate " + lr);
            if (!(momentum >= 0)) throw new IllegalArgumentException("SGD: invalid momentum " + momentum);
            if (!(weightDecay >= 0)) throw new IllegalArgumentException("SGD: invalid weight decay " + weightDecay);
            if (nesterov && (momentum <= 0 || dampening != 0))
                throw new IllegalArgumentException("SGD: Nesterov momentum requires a momentum and zero dampening (got momentum "
                        + momentum + ", dampening " + dampening + ")");
        }

        public Hyper withLr(double v) { return new Hyper(v, momentum, dampening, weightDecay, nesterov); }

        public Hyper withMomentum(double v) { return new Hyper(lr, v, dampening, weightDecay, nesterov); }

        public Hyper withDampening(double v) { return new Hyper(lr, momentum, v, weightDecay, nesterov); }

        public Hyper withWeightDecay(double v) { return new Hyper(lr, momentum, dampening, v, nesterov); }

        public Hyper withNesterov(boolean v) { return new Hyper(lr, momentum, dampening, weightDecay, v); }
    }

    /** One parameter group: named parameters, hyperparameters, the base lr and the current lr. */
    public static final class Group {
        private final Map<String, Tensor> params;
        private final Hyper hyper;
        private double lr;

        Group(Map<String, Tensor> params, Hyper hyper) {
            this.params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
            this.hyper = hyper;
            this.lr = hyper.lr();
        }

        public Map<String, Tensor> params() { return params; }

        /** The hyperparameters the group was built with; {@code hyper().lr()} is the base (initial) lr. */
        public Hyper hyper() { return hyper; }

        public double baseLr() { return hyper.lr(); }

        /** The lr the next step uses. */
        public double lr() { return lr; }

        public void setLr(double value) {
            if (!(value >= 0)) throw new IllegalArgumentException("SGD: invalid learning rate " + value);
            lr = value;
        }

        /** The lr as the device reads it: a one-element F32 tensor per backend and the value last written to it. */
        private final Map<Backend, Tensor> lrTensors = new LinkedHashMap<>();
        private final Map<Backend, Float> lrWritten = new LinkedHashMap<>();

        Tensor lrOn(Backend be, Scope home) {
            Tensor t = lrTensors.computeIfAbsent(be, b -> Scope.allocatingIn(home, () -> Tensor.empty(b, DType.F32, 1)));
            float v = (float) lr;
            Float old = lrWritten.get(be);
            if (old == null || Float.floatToRawIntBits(old) != Float.floatToRawIntBits(v)) {
                be.fill(t, v); // stream-ordered before the update that reads it
                lrWritten.put(be, v);
            }
            return t;
        }

        void freeLrTensors() {
            for (Tensor t : lrTensors.values()) if (!t.isFreed()) t.storage().free();
            lrTensors.clear();
            lrWritten.clear();
        }
    }

    public static Builder builder(double lr) { return new Builder(lr); }

    /** Default hyperparameters (PyTorch's: momentum 0, dampening 0, weight decay 0, no Nesterov) and groups. */
    public static final class Builder {
        private double lr, momentum, dampening, weightDecay;
        private boolean nesterov;
        private final List<Map<String, Tensor>> groupParams = new ArrayList<>();
        private final List<UnaryOperator<Hyper>> groupOverrides = new ArrayList<>();

        private Builder(double lr) { this.lr = lr; }

        public Builder momentum(double v) { momentum = v; return this; }

        public Builder dampening(double v) { dampening = v; return this; }

        public Builder weightDecay(double v) { weightDecay = v; return this; }

        public Builder nesterov(boolean v) { nesterov = v; return this; }

        /** A group using the default hyperparameters. */
        public Builder group(Map<String, Tensor> namedParams) { return group(namedParams, UnaryOperator.identity()); }

        /** A group whose hyperparameters are the defaults changed by {@code override} (e.g. {@code h -> h.withLr(1.0)}). */
        public Builder group(Map<String, Tensor> namedParams, UnaryOperator<Hyper> override) {
            groupParams.add(namedParams);
            groupOverrides.add(override);
            return this;
        }

        public Sgd build() {
            Hyper defaults = new Hyper(lr, momentum, dampening, weightDecay, nesterov);
            List<Group> groups = new ArrayList<>();
            for (int i = 0; i < groupParams.size(); i++) groups.add(new Group(groupParams.get(i), groupOverrides.get(i).apply(defaults)));
            return new Sgd(groups);
        }
    }

    private final List<Group> groups;
    private final Map<String, Tensor> momentumBuffers = new LinkedHashMap<>();
    private final Map<String, Tensor> paramsByName = new LinkedHashMap<>();
    private final Scope home;
    private boolean closed;

    private Sgd(List<Group> groups) {
        if (groups.isEmpty()) throw new IllegalArgumentException("SGD: no parameter groups (add at least one with group(...))");
        for (Group g : groups) {
            if (g.params.isEmpty()) throw new IllegalArgumentException("SGD: a parameter group is empty");
            for (var e : g.params.entrySet()) {
                Tensor p = e.getValue();
                if (!p.isLeaf()) throw new IllegalArgumentException("SGD: can't optimize a non-leaf tensor '" + e.getKey() + "'");
                if (p.dtype() != DType.F32) throw new IllegalArgumentException("SGD: parameter '" + e.getKey() + "' is " + p.describe() + ", need F32");
                Tensor prev = paramsByName.put(e.getKey(), p);
                if (prev != null)
                    throw new IllegalArgumentException("SGD: parameter '" + e.getKey() + "' appears in more than one group");
            }
        }
        Map<Tensor, String> seen = new IdentityHashMap<>();
        paramsByName.forEach((name, p) -> {
            String other = seen.put(p, name);
            if (other != null) throw new IllegalArgumentException("SGD: the same tensor is given as '" + other + "' and '" + name + "'");
        });
        this.groups = List.copyOf(groups);
        this.home = Scope.current();
    }

    public List<Group> groups() { return groups; }

    /** Sets every group's lr to its base lr times {@code factor} (what an {@link LrSchedule} gives). */
    public void setLrFactor(double factor) {
        for (Group g : groups) g.setLr(g.baseLr() * factor);
    }

    /**
     * Writes every group's current lr into its one-element tensor on each backend of its parameters,
     * now. A captured CUDA graph's update reads that tensor, so the loop calls this before every
     * replay (and before the capture: a {@link #step} that finds the tensor current records no write,
     * whereas a write recorded into the graph would replay the capture-time lr forever).
     */
    public void writeLr() {
        checkOpen();
        for (Group g : groups) {
            java.util.Set<Backend> backends = new java.util.LinkedHashSet<>();
            for (Tensor p : g.params.values()) backends.add(p.backend());
            for (Backend be : backends) g.lrOn(be, home);
        }
    }

    /** Zero-fills every existing gradient of the optimized parameters (PyTorch 1.13's default). */
    public void zeroGrad() {
        for (Group g : groups) for (Tensor p : g.params.values()) Grads.zero(p);
    }

    /**
     * One update of every parameter that has a gradient: per group, one {@code sgdUpdateMulti} call
     * per backend and first-step flag (usually exactly one per group), which a device backend runs
     * as one or a few launches for all the group's tensors (torch.optim.SGD's foreach path), with
     * the same bits as a per-parameter {@code sgdUpdate}. The group's lr lives in a one-element
     * tensor on each backend, rewritten only when the lr changes.
     */
    public void step() {
        checkOpen();
        try (var ng = GradMode.noGrad()) {
            for (Group g : groups) {
                Hyper h = g.hyper;
                // (backend, first step) -> parameters, in the group's order
                Map<Backend, Map<Boolean, Batch>> batches = new LinkedHashMap<>();
                for (var e : g.params.entrySet()) {
                    Tensor p = e.getValue(), grad = p.grad();
                    if (grad == null) continue;
                    Tensor buf = momentumBuffers.get(e.getKey());
                    boolean first = buf == null;
                    if (h.momentum() != 0 && buf == null) {
                        buf = Scope.allocatingIn(home, () -> Tensor.empty(p.backend(), DType.F32, p.shape()));
                        momentumBuffers.put(e.getKey(), buf);
                    }
                    batches.computeIfAbsent(p.backend(), b -> new LinkedHashMap<>()).computeIfAbsent(first, f -> new Batch())
                            .add(p, grad, buf);
                }
                for (var byBackend : batches.entrySet()) {
                    Backend be = byBackend.getKey();
                    Tensor lr = g.lrOn(be, home);
                    for (var e : byBackend.getValue().entrySet()) {
                        Batch b = e.getValue();
                        be.sgdUpdateMulti(b.params.toArray(Tensor[]::new), b.grads.toArray(Tensor[]::new),
                                h.momentum() != 0 ? b.bufs.toArray(Tensor[]::new) : null, lr, (float) h.momentum(),
                                (float) h.dampening(), (float) h.weightDecay(), h.nesterov(), e.getKey());
                    }
                }
            }
        }
    }

    /** Parameters updated by one multi-tensor call. */
    private static final class Batch {
        final List<Tensor> params = new ArrayList<>(), grads = new ArrayList<>(), bufs = new ArrayList<>();

        void add(Tensor p, Tensor g, Tensor buf) {
            params.add(p);
            grads.add(g);
            bufs.add(buf);
        }
    }

    /** Name → momentum buffer for parameters that have one (after their first step); live tensors. */
    public Map<String, Tensor> momentumBuffers() { return Collections.unmodifiableMap(momentumBuffers); }

    /**
     * Restores momentum buffers by parameter name (from a checkpoint); a parameter with a restored
     * buffer continues with {@code momentum·buf + ...} instead of treating its next step as the first.
     * Every name must be an optimized parameter and every shape must match; otherwise nothing changes.
     */
    public void loadMomentumBuffers(Map<String, Tensor> buffers) {
        checkOpen();
        List<String> problems = new ArrayList<>();
        for (var e : buffers.entrySet()) {
            Tensor p = paramsByName.get(e.getKey());
            if (p == null) problems.add("unknown parameter '" + e.getKey() + "'");
            else if (!Arrays.equals(p.shape(), e.getValue().shape()) || !TensorTransfer.canCopy(e.getValue().dtype(), DType.F32))
                problems.add("'" + e.getKey() + "': buffer " + e.getValue().dtype() + Shape.str(e.getValue().shape()) + " for parameter " + Shape.str(p.shape()));
        }
        if (!problems.isEmpty()) throw new IllegalArgumentException("SGD: cannot load momentum buffers: " + String.join("; ", problems));
        try (var ng = GradMode.noGrad()) {
            for (var e : buffers.entrySet()) {
                Tensor p = paramsByName.get(e.getKey());
                Tensor buf = momentumBuffers.computeIfAbsent(e.getKey(),
                        k -> Scope.allocatingIn(home, () -> Tensor.empty(p.backend(), DType.F32, p.shape())));
                TensorTransfer.copyInto(buf, e.getValue());
            }
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("SGD: optimizer is closed");
    }

    /** Frees the momentum buffers. */
    @Override
    public void close() {
        for (Tensor b : momentumBuffers.values()) if (!b.isFreed()) b.storage().free();
        momentumBuffers.clear();
        for (Group g : groups) g.freeLrTensors();
        closed = true;
    }
}
