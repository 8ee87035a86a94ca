package dvp.engine;

import java.util.Arrays;
import java.util.Locale;

/**
 * How a 4-D activation [N, C, H, W] is laid out in memory: a stride order of the same {@link Tensor}
 * (PyTorch's {@code torch.contiguous_format} and {@code torch.channels_last}), never a new type.
 * The logical shape and indexing stay [N, C, H, W] in both; only the strides differ:
 * <ul>
 *   <li>{@link #CONTIGUOUS}: row-major NCHW, strides (C·H·W, H·W, W, 1);</li>
 *   <li>{@link #CHANNELS_LAST}: N, H, W, C in memory, strides (H·W·C, 1, W·C, C): the C values of
 *       one pixel are one contiguous run, the layout cuDNN's tensor-core convolutions want.</li>
 * </ul>
 * Invariants the ops keep: an op on channels-last activations returns channels-last activations
 * (convolution, batch norm, ReLU, add, max pool, OFD); a gradient has the layout of the tensor it
 * is the gradient of ({@code dvp.engine.autograd.Autograd}). Weights stay OIHW (contiguous).
 */
public enum MemoryFormat {
    CONTIGUOUS, CHANNELS_LAST;

    /** The strides (in elements) of a dense tensor of this shape in this format; only rank 4 has a channels-last form. */
    public long[] strides(int... shape) {
        if (this == CONTIGUOUS) return Shape.contiguousStrides(shape);
        if (shape.length != 4)
            throw new IllegalArgumentException("channels-last needs a 4-D [N, C, H, W] shape, got " + Shape.str(shape));
        long c = shape[1], h = shape[2], w = shape[3];
        return new long[]{h * w * c, 1, w * c, c};
    }

    /**
     * The format whose strides t has exactly, CONTIGUOUS for other row-major tensors, or null for
     * any other view (a transpose, a slice with gaps). Channels-last wins when a tensor has its
     * exact strides even if it is also row-major (C == 1 or H == W == 1: both orders are the same
     * memory), so a channels-last [N, C, 1, 1] tensor keeps its format through the ops.
     */
    public static MemoryFormat of(Tensor t) {
        if (t.rank() == 4 && Arrays.equals(t.strides(), CHANNELS_LAST.strides(t.shape()))) return CHANNELS_LAST;
        return t.isContiguous() ? CONTIGUOUS : null;
    }

    /**
     * Whether t's memory is in N, H, W, C order and not also row-major NCHW: what a kernel must
     * index differently. (A channels-last tensor with C == 1 or H == W == 1 is plain NCHW memory.)
     */
    public static boolean isNhwcMemory(Tensor t) { return of(t) == CHANNELS_LAST && !t.isContiguous(); }

    /**
     * Whether t's memory is laid out in this format's order: its strides are this format's, or
     * (dense tensors where the two orders coincide: C == 1 or H·W == 1) its memory is the same.
     */
    public boolean hasMemoryOrder(Tensor t) {
        if (this == CONTIGUOUS) return t.isContiguous();
        if (t.rank() != 4) return false;
        return of(t) == CHANNELS_LAST || (t.isContiguous() && (t.dim(1) == 1 || (long) t.dim(2) * t.dim(3) == 1));
    }

    /**
     * The memory order a channels-last-capable primitive runs in: CHANNELS_LAST when x has
     * channels-last strides, else CONTIGUOUS; every other tensor must have the same memory order,
     * or this throws an error naming the op, the tensors' shapes and their layouts.
     */
    public static MemoryFormat common(String op, Tensor x, Tensor... others) {
        MemoryFormat f = x.rank() == 4 && x.isChannelsLast() ? CHANNELS_LAST : CONTIGUOUS;
        if (!f.hasMemoryOrder(x))
            throw new IllegalArgumentException(op + ": input " + x.describe() + " is neither contiguous nor channels-last");
        for (Tensor t : others) {
            if (t != null && !f.hasMemoryOrder(t))
                throw new IllegalArgumentException(op + ": mixed layouts: " + x.describe() + " is " + f.label() + " but "
                        + t.describe() + " is " + (t.memoryFormat() == null ? "a strided view" : t.memoryFormat().label())
                        + " (convert with Tensor.contiguous(MemoryFormat))");
        }
        return f;
    }

    /**
     * Refuses tensors whose memory is N, H, W, C (a primitive that indexes NCHW only), naming the op,
     * the tensor and the reason; plain NCHW memory (including channels-last strides with C == 1 or
     * H·W == 1) passes.
     */
    public static void requireNchwMemory(String op, String reason, Tensor... ts) {
        for (Tensor t : ts)
            if (t != null && isNhwcMemory(t))
                throw new IllegalArgumentException(op + ": channels-last " + t.describe() + " not accepted: " + reason);
    }

    /** The name users type and read: "nchw" / "channels-last". */
    public String label() { return this == CONTIGUOUS ? "nchw" : "channels-last"; }

    /** Parses {@link #label()} (also "contiguous", "nhwc", "channels_last"), case-insensitive. */
    public static MemoryFormat parse(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "nchw", "contiguous", "contiguous_format" -> CONTIGUOUS;
            case "channels-last", "channels_last", "nhwc" -> CHANNELS_LAST;
            default -> throw new IllegalArgumentException("unknown memory format '" + s + "' (nchw or channels-last)");
        };
    }
}
