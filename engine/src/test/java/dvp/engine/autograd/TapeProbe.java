package dvp.engine.autograd;

import dvp.engine.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Test-only view into a recorded graph (lives in this package to read {@link Node#inputs()}).
 * The parity suite uses it to read the inputs of every ReLU a whole network ran, in forward
 * order, so PyTorch can be made to take the same ReLU decisions (see the nn parity tests).
 */
public final class TapeProbe {
    private TapeProbe() {}

    /**
     * The inputs of every recorded op named {@code op} that {@code root} depends on, in a
     * topological order of the graph (an op's inputs come before it). When those ops form a
     * chain, as the ReLUs of a ResNet do, this is exactly the order in which they ran.
     */
    public static List<Tensor[]> inputsOf(Tensor root, String op) {
        List<Tensor[]> out = new ArrayList<>();
        Set<Node> done = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<Node> entered = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Node> stack = new ArrayDeque<>(); // iterative post-order: deep graphs must not overflow the stack
        if (root.gradFn() != null) stack.push(root.gradFn());
        while (!stack.isEmpty()) {
            Node n = stack.peek();
            if (done.contains(n)) {
                stack.pop();
                continue;
            }
            if (entered.add(n)) {
                for (Tensor in : n.inputs()) {
                    Node m = in == null ? null : in.gradFn();
                    if (m != null && !done.contains(m)) stack.push(m);
                }
            } else {
                stack.pop();
                done.add(n);
                if (n.op().equals(op)) out.add(n.inputs().clone());
            }
        }
        return out;
    }

    /** One recorded op: its name, its inputs and its output (null when neither a later op nor the root holds it). */
    public record Visit(String op, Tensor[] inputs, Tensor output) {}

    /**
     * Every recorded op whose name is in {@code ops} that {@code root} depends on, in the same
     * topological order as {@link #inputsOf}, with its inputs and its output (found as an input of
     * a later op, or as the root). The nn parity suite reads a network's ReLU decisions with it
     * when some ReLUs run alone ("relu": the input's sign) and some fused into batch norm
     * ("batch_norm_relu": the output's sign, which is the same mask).
     */
    public static List<Visit> visits(Tensor root, Set<String> ops) {
        List<Visit> out = new ArrayList<>();
        Set<Node> done = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<Node> entered = Collections.newSetFromMap(new IdentityHashMap<>());
        Map<Node, Tensor> outputs = new IdentityHashMap<>();
        Deque<Node> stack = new ArrayDeque<>();
        if (root.gradFn() != null) {
            stack.push(root.gradFn());
            outputs.put(root.gradFn(), root);
        }
        while (!stack.isEmpty()) {
            Node n = stack.peek();
            if (done.contains(n)) {
                stack.pop();
                continue;
            }
            if (entered.add(n)) {
                for (Tensor in : n.inputs()) {
                    Node m = in == null ? null : in.gradFn();
                    if (m == null) continue;
                    outputs.putIfAbsent(m, in);
                    if (!done.contains(m)) stack.push(m);
                }
            } else {
                stack.pop();
                done.add(n);
                if (ops.contains(n.op())) out.add(new Visit(n.op(), n.inputs().clone(), outputs.get(n)));
            }
        }
        return out;
    }
}
