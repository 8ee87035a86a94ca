package dvp.engine.autograd;

import dvp.engine.Tensor;

/** One recorded op on the tape: its inputs, its output's shape, and its backward rule. */
public final class Node {
    private final String op;
    private final Tensor[] inputs;
    private final int[] outputShape;
    private BackwardFn backward;

    Node(String op, Tensor[] inputs, int[] outputShape, BackwardFn backward) {
        this.op = op;
        this.inputs = inputs;
        this.outputShape = outputShape;
        this.backward = backward;
    }

    public String op() { return op; }

    Tensor[] inputs() { return inputs; }

    /** The op's inputs as recorded (read-only; an entry may be null), for tape readers (tests, tools). */
    public java.util.List<Tensor> inputList() { return java.util.Collections.unmodifiableList(java.util.Arrays.asList(inputs)); }

    int[] outputShape() { return outputShape; }

    Tensor[] runBackward(Tensor gradOut) {
        if (backward == null)
            throw new IllegalStateException(op + ": backward already ran through this graph (build it again)");
        Tensor[] g = backward.apply(gradOut);
        backward = null; // releases saved tensors; a second backward through the same graph is an error
        return g;
    }

    @Override
    public String toString() { return "Node(" + op + ")"; }
}
