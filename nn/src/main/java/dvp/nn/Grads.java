package dvp.nn;

import dvp.engine.Tensor;

/** Gradient housekeeping shared by modules and optimizers. */
public final class Grads {
    private Grads() {}

    /**
     * Zero-fills p's gradient in place when it has one (PyTorch 1.13's {@code zero_grad()} default,
     * {@code set_to_none=False}). Filling instead of dropping keeps the gradient's memory, which
     * lives in the parameter's long-lived scope, from being re-allocated every step; a parameter
     * that never received a gradient keeps none and is skipped by the optimizer.
     */
    public static void zero(Tensor p) {
        Tensor g = p.grad();
        if (g != null) g.backend().fill(g, 0);
    }
}
