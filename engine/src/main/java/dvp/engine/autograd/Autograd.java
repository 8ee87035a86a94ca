package dvp.engine.autograd;

import dvp.engine.MemoryFormat;
import dvp.engine.Scope;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Storage;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tape: {@link #record} attaches a {@link Node} to an op's result, {@link #backward} walks the
 * graph in reverse topological order. Leaf gradients <b>accumulate</b> ({@code +=}) into
 * {@link Tensor#grad()}, allocated in the leaf's own scope; intermediate gradients are freed as
 * soon as the node that consumed them has run (unless another pending gradient shares storage).
 * Every gradient a rule returns is put in the layout of the tensor it is the gradient of before it
 * is accumulated or handed on (contiguous, or channels-last for a channels-last input: see
 * {@link dvp.engine.MemoryFormat}), so a rule may return any view of its gradOut, and a rule
 * receives its gradOut in its output's layout.
 */
public final class Autograd {
    private Autograd() {}

    /** Whether an op with these inputs must record a node. */
    public static boolean needsGrad(Tensor... inputs) {
        if (!GradMode.isEnabled()) return false;
        for (Tensor t : inputs) if (t != null && t.requiresGrad()) return true;
        return false;
    }

    /**
     * Records {@code out = op(inputs)} if any input requires grad and grad mode is on; returns out.
     * Inputs that do not require grad receive no gradient (the rule may return null for them).
     */
    public static Tensor record(String op, Tensor out, BackwardFn rule, Tensor... inputs) {
        if (needsGrad(inputs)) out.setGradFn(new Node(op, inputs, out.shape(), rule));
        return out;
    }

    public static void backward(Tensor root) {
        if (!root.requiresGrad())
            throw new IllegalStateException("backward: " + root.describe() + " does not require grad (nothing to differentiate)");
        if (root.numel() != 1)
            throw new IllegalStateException("backward: needs a scalar, got " + root.describe());
        Backend be = root.backend();
        // in root's dtype: with the cast below, every gradient a rule receives has its output's dtype
        Tensor seed = Tensor.empty(be, root.dtype(), root.shape());
        be.fill(seed, 1.0);
        if (root.isLeaf()) {
            accumulateLeaf(root, seed);
            return;
        }
        List<Tensor> order = topoOrder(root);
        Map<Tensor, Tensor> pending = new IdentityHashMap<>();
        Map<Storage, Integer> refs = new IdentityHashMap<>(); // pending gradients per storage (views share)
        put(pending, refs, root, seed);
        List<Tensor> consumed = new ArrayList<>();
        for (int i = order.size() - 1; i >= 0; i--) {
            Tensor t = order.get(i);
            Tensor g = take(pending, refs, t);
            if (g == null) continue; // no path from root carries a gradient here
            Node node = t.gradFn();
            Tensor[] inputs = node.inputs();
            Tensor[] grads = node.runBackward(g);
            if (grads.length != inputs.length)
                throw new IllegalStateException(node.op() + ": backward returned " + grads.length + " gradients for " + inputs.length + " inputs");
            consumed.add(g);
            for (int k = 0; k < inputs.length; k++) {
                Tensor in = inputs[k];
                Tensor gi = grads[k];
                if (gi == null) continue;
                consumed.add(gi);
                // A rule may return a strided view of its gradOut (a transpose) or another layout; the +=
                // below and every primitive that later reads this gradient take dense tensors in the
                // layout of the tensor they belong to (Backend contract), so both operands of a += agree.
                MemoryFormat want = in == null || in.memoryFormat() == null ? MemoryFormat.CONTIGUOUS : in.memoryFormat();
                if (gi.memoryFormat() != want && !(want == MemoryFormat.CONTIGUOUS && gi.isContiguous())) {
                    gi = gi.inFormat(want);
                    consumed.add(gi);
                }
                if (in == null || !in.requiresGrad()) continue;
                if (!Arrays.equals(gi.shape(), in.shape()))
                    throw new IllegalStateException(node.op() + ": gradient for input " + k + " has shape " + Shape.str(gi.shape())
                            + " but the input is " + Shape.str(in.shape()));
                if (gi.dtype() != in.dtype()) { // a rule that computed an F32 gradient for a BF16 input (or back): in's dtype, as PyTorch's engine casts
                    gi = castTo(gi, in.dtype(), want);
                    consumed.add(gi);
                }
                if (in.isLeaf()) {
                    accumulateLeaf(in, gi);
                } else {
                    Tensor prev = take(pending, refs, in);
                    if (prev == null) {
                        put(pending, refs, in, gi);
                    } else {
                        // prev and gi share in's layout and dtype; so does their sum (for BF16 gradients of a
                        // bf16 activation used twice: added in fp32, rounded once; Backend.axpby)
                        Tensor sum = Tensor.emptyLike(prev);
                        be.axpby(1f, prev, 1f, gi, sum);
                        consumed.add(prev);
                        put(pending, refs, in, sum);
                    }
                }
            }
            // Free what this node consumed, once no pending gradient shares its memory. Only
            // gradients made during this backward (owned by the current scope) are freed.
            for (Tensor c : consumed)
                if (!c.isFreed() && !refs.containsKey(c.storage()) && c.owner() == Scope.current()) c.storage().free();
            consumed.clear();
        }
    }

    /** g (dense, in layout {@code format}) as a new tensor of dtype {@code to} in the same layout (Backend.cast: F32 ↔ BF16). */
    private static Tensor castTo(Tensor g, dvp.engine.DType to, MemoryFormat format) {
        Tensor cg = g.inFormat(format);
        Tensor out = Tensor.empty(g.backend(), to, format, cg.shape());
        g.backend().cast(cg, out);
        return out;
    }

    private static void put(Map<Tensor, Tensor> pending, Map<Storage, Integer> refs, Tensor key, Tensor g) {
        pending.put(key, g);
        refs.merge(g.storage(), 1, Integer::sum);
    }

    private static Tensor take(Map<Tensor, Tensor> pending, Map<Storage, Integer> refs, Tensor key) {
        Tensor g = pending.remove(key);
        if (g != null) refs.computeIfPresent(g.storage(), (s, n) -> n == 1 ? null : n - 1);
        return g;
    }

    private static void accumulateLeaf(Tensor leaf, Tensor g) {
        Tensor acc = leaf.grad();
        if (acc == null) {
            Scope home = leaf.owner() == null || leaf.owner().isClosed() ? Scope.current() : leaf.owner();
            // g already has the leaf's layout (see backward): the gradient keeps it
            Tensor fresh = Scope.allocatingIn(home, () -> Tensor.emptyLike(g));
            fresh.copyFrom(g);
            leaf.setGrad(fresh);
        } else {
            g.backend().axpby(1f, acc, 1f, g, acc);
        }
    }

    /** Non-leaf tensors reachable from root, each after all its inputs (iterative DFS). */
    private static List<Tensor> topoOrder(Tensor root) {
        List<Tensor> order = new ArrayList<>();
        Map<Tensor, Boolean> state = new IdentityHashMap<>(); // false = on stack, true = done
        Deque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[]{root, 0});
        state.put(root, false);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Tensor t = (Tensor) frame[0];
            int next = (Integer) frame[1];
            Tensor[] ins = t.gradFn().inputs();
            if (next < ins.length) {
                frame[1] = next + 1;
                Tensor in = ins[next];
                if (in != null && in.requiresGrad() && !in.isLeaf() && !state.containsKey(in)) {
                    state.put(in, false);
                    stack.push(new Object[]{in, 0});
                }
            } else {
                stack.pop();
                state.put(t, true);
                order.add(t);
            }
        }
        return order;
    }
}
