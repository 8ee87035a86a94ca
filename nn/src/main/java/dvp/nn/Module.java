package dvp.nn;

import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A network building block in the torch.nn.Module mould: it owns named parameters, named buffers
 * and named child modules, each kept in <b>registration order</b>. That order defines the key
 * order of {@link #stateDict()} exactly as PyTorch does (a module's own parameters, then its own
 * buffers, then each child recursively under {@code childName.}), so models that register in
 * torchvision's order produce torchvision's {@code state_dict()} keys in the same order.
 *
 * <p><b>Memory.</b> Parameters and buffers are allocated in the {@link dvp.engine.Scope} that is
 * open while the module is constructed, on {@link dvp.engine.spi.Backends#current()}. Build
 * models in a long-lived scope (or the global one): closing that scope frees the weights. The
 * engine allocates parameter gradients in the parameter's own scope, so they share its lifetime.
 *
 * <p><b>Parameters</b> are leaf tensors with {@code requiresGrad(true)}; {@link #loadStateDict}
 * and optimizers update them in place, so references handed out earlier stay valid.
 */
public abstract class Module {
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** The module's computation; records autograd nodes unless grad mode is off. */
    public abstract Tensor forward(Tensor x);

    // ---- registration (constructors of subclasses) -------------------------------------------------

    /** Registers a trainable tensor under {@code name}; marks it requiresGrad. Returns it. */
    protected final Tensor registerParameter(String name, Tensor t) {
        checkNewName(name);
        if (!t.isLeaf()) throw new IllegalArgumentException(kind() + ": parameter '" + name + "' must be a leaf tensor");
        t.requiresGrad(true);
        parameters.put(name, t);
        return t;
    }

    /** Registers persistent non-trainable state (running statistics, counters). Returns it. */
    protected final Tensor registerBuffer(String name, Tensor t) {
        checkNewName(name);
        buffers.put(name, t);
        return t;
    }

    /** Registers a child module; its tensors appear under {@code name.}. Returns it. */
    protected final <M extends Module> M registerModule(String name, M module) {
        checkNewName(name);
        if (module == null) throw new IllegalArgumentException(kind() + ": child module '" + name + "' is null");
        children.put(name, module);
        return module;
    }

    /**
     * Swaps the child registered as {@code name} for another module, keeping its position in the
     * registration order (like assigning {@code model.fc = ...} in PyTorch).
     */
    public Module replaceChild(String name, Module module) {
        if (!children.containsKey(name))
            throw new IllegalArgumentException(kind() + " has no child module '" + name + "' (children: " + children.keySet() + ")");
        if (module == null) throw new IllegalArgumentException(kind() + ": replacement for '" + name + "' is null");
        onChildReplaced(name, module);
        children.put(name, module);
        return this;
    }

    /**
     * Lets subclasses that keep typed references to children update them; runs just before the
     * swap in {@link #replaceChild} and may throw to refuse a module that does not fit.
     */
    protected void onChildReplaced(String name, Module module) {}

    private void checkNewName(String name) {
        if (name == null || name.isEmpty() || name.contains("."))
            throw new IllegalArgumentException(kind() + ": invalid name '" + name + "' (non-empty, no '.')");
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name))
            throw new IllegalArgumentException(kind() + ": name '" + name + "' is already registered");
    }

    /** Short description for messages: the class name. */
    protected String kind() { return getClass().getSimpleName(); }

    // ---- mode ---------------------------------------------------------------------------------------

    /** Sets training mode on this module and every descendant (BN uses batch statistics when training). */
    public Module train(boolean mode) {
        training = mode;
        for (Module c : children.values()) c.train(mode);
        return this;
    }

    public Module train() { return train(true); }

    /** Evaluation mode: BN uses its running statistics. */
    public Module eval() { return train(false); }

    public boolean isTraining() { return training; }

    /** Marks every parameter trainable or frozen (a frozen teacher, the MoCo key encoder). */
    public Module requiresGrad(boolean value) {
        for (Tensor p : namedParameters().values()) p.requiresGrad(value);
        return this;
    }

    /** Zero-fills every existing parameter gradient in place (PyTorch 1.13's zero_grad default). */
    public void zeroGrad() {
        for (Tensor p : namedParameters().values()) Grads.zero(p);
    }

    // ---- traversal ----------------------------------------------------------------------------------

    /** This module's own parameters (not its children's), in registration order. */
    public Map<String, Tensor> localParameters() { return Collections.unmodifiableMap(parameters); }

    /** This module's own buffers, in registration order. */
    public Map<String, Tensor> localBuffers() {
        beforeStateRead();
        return Collections.unmodifiableMap(buffers);
    }

    /** Direct children in registration order. */
    public Map<String, Module> namedChildren() { return Collections.unmodifiableMap(children); }

    /** This module (key "") and all descendants, depth first in registration order, with dotted names. */
    public Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        out.put(prefix, this);
        for (var e : children.entrySet()) e.getValue().collectModules(prefix + e.getKey() + ".", out);
    }

    /** All parameters with dotted names, as torch's named_parameters() (own first, then children). */
    public Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        visit("", (prefix, m) -> m.parameters.forEach((k, v) -> out.put(prefix + k, v)));
        return out;
    }

    public List<Tensor> parameters() { return new ArrayList<>(namedParameters().values()); }

    /** All buffers with dotted names (running_mean, running_var, num_batches_tracked, ...). */
    public Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        visit("", (prefix, m) -> {
            m.beforeStateRead();
            m.buffers.forEach((k, v) -> out.put(prefix + k, v));
        });
        return out;
    }

    /**
     * Name → live tensor for every parameter and buffer, in torch's {@code state_dict()} order and
     * with its keys. The values are the module's own tensors (not copies), as in PyTorch: copy them
     * if a snapshot must survive later training steps.
     */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        visit("", (prefix, m) -> {
            m.beforeStateRead();
            m.parameters.forEach((k, v) -> out.put(prefix + k, v));
            m.buffers.forEach((k, v) -> out.put(prefix + k, v));
        });
        return out;
    }

    /** Number of elements over all parameters. */
    public long parameterCount() {
        long n = 0;
        for (Tensor p : namedParameters().values()) n += p.numel();
        return n;
    }

    /** Looks up a parameter or buffer by its state-dict key. */
    public Tensor tensor(String key) {
        Tensor t = stateDict().get(key);
        if (t == null) throw new IllegalArgumentException(kind() + " has no parameter or buffer '" + key + "'");
        return t;
    }

    /** Looks up a descendant by its dotted name ("layer4.2.bn3"). */
    public Module module(String name) {
        Module m = namedModules().get(name.isEmpty() ? "" : name + ".");
        if (m == null) throw new IllegalArgumentException(kind() + " has no submodule '" + name + "'");
        return m;
    }

    private interface Visitor { void accept(String prefix, Module m); }

    private void visit(String prefix, Visitor v) {
        v.accept(prefix, this);
        for (var e : children.entrySet()) e.getValue().visit(prefix + e.getKey() + ".", v);
    }

    // ---- state loading ------------------------------------------------------------------------------

    /** {@code loadStateDict(source, LoadOptions.strict(strict))}. */
    public LoadReport loadStateDict(Map<String, Tensor> source, boolean strict) {
        return loadStateDict(source, strict ? LoadOptions.strict() : LoadOptions.nonStrict());
    }

    /**
     * Copies matching entries of {@code source} into this module's parameters and buffers in place.
     * Keys are first rewritten as the options say (select/strip prefixes, drop keys). Everything is
     * validated before anything is copied: in strict mode any missing, unexpected or mismatched key
     * throws {@link StateDictException} naming all of them and leaves the module unchanged; in
     * non-strict mode matching entries are copied and the rest is reported.
     */
    public LoadReport loadStateDict(Map<String, Tensor> source, LoadOptions options) {
        LoadReport report = StateDictLoader.load(this, source, options);
        stateWrittenInPlace();
        return report;
    }

    /**
     * Tells this module and its descendants that the tensors of {@link #stateDict()} were written in
     * place by something other than {@link #loadStateDict} (a checkpoint restore), so host-side
     * copies of state (BN's batch counter) are re-read from them.
     */
    public void stateWrittenInPlace() { visit("", (prefix, m) -> m.afterStateLoaded()); }

    /**
     * Called before buffers are read through {@link #stateDict()} / {@link #namedBuffers()}:
     * modules that keep part of their state on the host (BN's batch counter) write it into their
     * buffer tensors here.
     */
    protected void beforeStateRead() {}

    /** Called after {@link #loadStateDict} or {@link #stateWrittenInPlace} (re-read host-side copies). */
    protected void afterStateLoaded() {}

    /** Runs {@code body} without recording autograd (for in-place state updates). */
    protected static void noGrad(Runnable body) {
        try (var g = GradMode.noGrad()) {
            body.run();
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        describe(sb, "", "");
        return sb.toString();
    }

    private void describe(StringBuilder sb, String name, String indent) {
        sb.append(indent).append(name.isEmpty() ? "" : "(" + name + "): ").append(extraRepr()).append('\n');
        for (var e : children.entrySet()) e.getValue().describe(sb, e.getKey(), indent + "  ");
    }

    /** One-line description: class name and hyperparameters, e.g. "Conv2d(3, 64, kernel=7, stride=2)". */
    protected String extraRepr() { return kind(); }
}
