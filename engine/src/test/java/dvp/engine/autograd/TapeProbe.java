package dvp.engine.autograd;

import dvp.engine.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
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
}
