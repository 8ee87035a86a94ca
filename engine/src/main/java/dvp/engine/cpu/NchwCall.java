package dvp.engine.cpu;

import dvp.engine.MemoryFormat;
import dvp.engine.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * How the CPU reference runs a primitive on channels-last tensors: its kernels index NCHW memory,
 * so each channels-last argument is given to them as a contiguous copy ({@link #in}), each
 * channels-last output as a contiguous temporary ({@link #out}) that {@link #close} copies back
 * into the caller's tensor in its layout (the caller's output is overwritten, never accumulated),
 * then frees every temporary. Tensors already contiguous pass through untouched, so an NCHW call
 * costs nothing extra. Being the reference, it favours obviousness over speed.
 */
final class NchwCall implements AutoCloseable {
    private final List<Tensor> temps = new ArrayList<>();
    private final List<Tensor[]> writeBacks = new ArrayList<>(); // {temporary, caller's output}

    /** Checks that the activations share one memory order (see {@link MemoryFormat#common}). */
    NchwCall(String op, Tensor x, Tensor... others) { MemoryFormat.common(op, x, others); }

    /** An input as NCHW memory. */
    Tensor in(Tensor t) {
        if (t == null || t.isContiguous()) return t;
        Tensor c = t.copyContiguous();
        temps.add(c);
        return c;
    }

    /** Where the NCHW kernel writes an output; copied into t on close when it is not t itself. */
    Tensor out(Tensor t) {
        if (t == null || t.isContiguous()) return t;
        Tensor c = Tensor.empty(t.backend(), t.dtype(), t.shape());
        temps.add(c);
        writeBacks.add(new Tensor[]{c, t});
        return c;
    }

    @Override
    public void close() {
        for (Tensor[] wb : writeBacks) wb[1].copyFrom(wb[0]);
        for (Tensor t : temps) t.storage().free();
    }
}
