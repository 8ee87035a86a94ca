package dvp.engine.ops;

import dvp.engine.MemoryFormat;
import dvp.engine.Tensor;

/**
 * The layout rules of the ops that keep their input's memory format (convolution, batch norm,
 * ReLU, add/mul/scale, pooling): a dense input (contiguous or channels-last) goes to the primitive
 * as it is, any other view is copied contiguous first; outputs and input gradients are allocated
 * in the input's format; a second operand or an upstream gradient in another layout is converted
 * (a copy) to the first operand's layout, never passed to a primitive mismatched.
 */
final class Layouts {
    private Layouts() {}

    /** CHANNELS_LAST for a tensor with channels-last strides, else CONTIGUOUS. */
    static MemoryFormat of(Tensor t) { return t.isChannelsLast() ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS; }

    /** t itself when contiguous or channels-last, else a contiguous copy (no autograd; inputs to primitives). */
    static Tensor dense(Tensor t) { return t.memoryFormat() != null ? t : t.copyContiguous(); }

    /** t in the layout of {@code like} (itself when it already is; else a copy, no autograd). */
    static Tensor match(Tensor t, Tensor like) { return t.inFormat(of(like)); }

    /** Uninitialised F32/any-dtype tensor of this shape in like's layout. */
    static Tensor emptyIn(Tensor like, dvp.engine.DType dtype, int... shape) {
        return Tensor.empty(like.backend(), dtype, of(like), shape);
    }
}
