package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Shape;
import dvp.engine.Tensor;

import java.util.Arrays;

/** Argument checks shared by the ops; every message names the op and the shapes involved. */
public final class Check {
    private Check() {}

    public static void sameShape(String op, Tensor a, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape()))
            throw new IllegalArgumentException(op + ": shapes must match, got " + Shape.str(a.shape()) + " and " + Shape.str(b.shape()));
        sameBackend(op, a, b);
    }

    /**
     * All tensors' memory belongs to one backend. Compares the storages' owners, not the dispatch
     * backends: a tensor created through a decorator (the profiler) and one created directly on
     * the backend it wraps live in the same memory and can meet in one op.
     */
    public static void sameBackend(String op, Tensor... ts) {
        Tensor first = null;
        for (Tensor t : ts) {
            if (t == null) continue;
            if (first == null) first = t;
            else if (t.storage().backend() != first.storage().backend())
                throw new IllegalArgumentException(op + ": tensors on different devices: " + first.describe() + " and " + t.describe());
        }
    }

    public static void rank(String op, String what, Tensor t, int rank) {
        if (t.rank() != rank)
            throw new IllegalArgumentException(op + ": " + what + " must be " + rank + "-D, got " + Shape.str(t.shape()));
    }

    public static void dtype(String op, String what, Tensor t, DType dtype) {
        if (t.dtype() != dtype)
            throw new IllegalArgumentException(op + ": " + what + " must be " + dtype + ", got " + t.dtype() + Shape.str(t.shape()));
    }

    public static void vector(String op, String what, Tensor t, int len) {
        if (t != null && (t.rank() != 1 || t.dim(0) != len))
            throw new IllegalArgumentException(op + ": " + what + " must have shape [" + len + "], got " + Shape.str(t.shape()));
    }

    public static void that(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    /** t itself when contiguous, else a contiguous copy (no autograd; inputs to primitives). */
    public static Tensor contiguous(Tensor t) { return t.isContiguous() ? t : t.copyContiguous(); }
}
