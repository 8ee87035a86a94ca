package dvp.engine.autograd;

import dvp.engine.Tensor;

/**
 * A node's local backward rule: given the gradient of the node's output, return one gradient per
 * input (null for inputs that do not require grad). Written in terms of backend primitives, so
 * the same rule runs on every backend. A rule may return {@code gradOut} itself (identity pass-
 * through) or any view of it, strided ones included (the engine makes them contiguous); the engine
 * tracks such aliasing and never frees a gradient that is still referenced.
 */
@FunctionalInterface
public interface BackwardFn {
    Tensor[] apply(Tensor gradOut);
}
