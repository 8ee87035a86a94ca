package dvp.engine.ops;

import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.autograd.Autograd;
import dvp.engine.spi.Backend;

import java.util.Arrays;

/** Shape ops: reshape/flatten (views), permute, concatenation and slicing along the batch dimension. */
public final class Views {
    private Views() {}

    /** Same data, new shape (one -1 allowed); a view when x is contiguous, else a copy. */
    public static Tensor reshape(Tensor x, int... shape) {
        int[] target = Shape.inferReshape("reshape", x.shape(), shape);
        Tensor y = Check.contiguous(x).view(target);
        if (!Autograd.needsGrad(x)) return y;
        // a fresh Tensor object for the result so it can carry its own node; shares memory
        Tensor out = y.detach();
        int[] from = x.shape();
        return Autograd.record("reshape", out, g -> new Tensor[]{Check.contiguous(g).view(from)}, x);
    }

    /** [N, d1, d2, ...] → [N, d1*d2*...]. */
    public static Tensor flatten(Tensor x) { return reshape(x, x.dim(0), -1); }

    /** A contiguous copy of x with dimensions reordered. */
    public static Tensor permute(Tensor x, int... order) {
        Tensor y = x.permute(order).copyContiguous();
        int[] inverse = new int[order.length];
        for (int i = 0; i < order.length; i++) inverse[order[i]] = i;
        return Autograd.record("permute", y, g -> new Tensor[]{g.permute(inverse).copyContiguous()}, x);
    }

    /**
     * Rows of x picked by a device index (torch.index_select(x, 0, index)): out[i] = x[index[i]],
     * a fresh contiguous [N, ...] tensor. index is I64 [N] on x's backend, so a captured CUDA graph
     * replays with whatever was written into it before the replay (MoCo's key shuffle). No backward:
     * MoCo gathers its keys under no-grad, and an input that needs a gradient is refused.
     */
    public static Tensor gatherRows(Tensor x, Tensor index) {
        String op = "gatherRows";
        Check.dtype(op, "x", x, dvp.engine.DType.F32);
        Check.dtype(op, "index", index, dvp.engine.DType.I64);
        Check.sameBackend(op, x, index);
        Check.that(x.rank() >= 1 && index.rank() == 1, op + ": expected x [R, ...] and index [N], got " + x.describe() + " and " + index.describe());
        Check.that(!Autograd.needsGrad(x), op + ": x " + x.describe() + " requires grad, but gatherRows has no backward; gather under no-grad");
        int[] shape = x.shape().clone();
        shape[0] = index.dim(0);
        Tensor out = Tensor.empty(x.backend(), x.dtype(), shape);
        x.backend().gatherRows(Check.contiguous(x), Check.contiguous(index), out);
        return out;
    }

    /** Concatenation along dim 0; all other dims must match. */
    public static Tensor cat0(Tensor... parts) {
        if (parts.length == 0) throw new IllegalArgumentException("cat: no tensors");
        int[] rest = Arrays.copyOfRange(parts[0].shape(), 1, parts[0].rank());
        int rows = 0;
        for (Tensor p : parts) {
            if (!Arrays.equals(rest, Arrays.copyOfRange(p.shape(), 1, p.rank())))
                throw new IllegalArgumentException("cat: shapes " + Shape.str(parts[0].shape()) + " and " + Shape.str(p.shape())
                        + " differ outside dim 0");
            Check.sameBackend("cat", parts[0], p);
            rows += p.dim(0);
        }
        int[] shape = parts[0].shape();
        shape[0] = rows;
        Backend be = parts[0].backend();
        Tensor out = Tensor.empty(be, parts[0].dtype(), shape);
        int[] starts = new int[parts.length];
        int at = 0;
        for (int i = 0; i < parts.length; i++) {
            starts[i] = at;
            be.copy(parts[i], out.narrow0(at, parts[i].dim(0)));
            at += parts[i].dim(0);
        }
        return Autograd.record("cat", out, g -> {
            Tensor[] gs = new Tensor[parts.length];
            for (int i = 0; i < parts.length; i++)
                if (parts[i].requiresGrad()) gs[i] = g.narrow0(starts[i], parts[i].dim(0));
            return gs;
        }, parts);
    }

    /** Rows [start, start+len) of x as a new tensor sharing nothing with x. */
    public static Tensor narrow0(Tensor x, int start, int len) {
        Tensor view = x.narrow0(start, len);
        Tensor out = view.copyContiguous();
        return Autograd.record("narrow", out, g -> {
            Tensor dx = Tensor.zeros(x.backend(), x.shape());
            x.backend().copy(g, dx.narrow0(start, len));
            return new Tensor[]{dx};
        }, x);
    }
}
