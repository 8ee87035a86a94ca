package dvp.engine;

import dvp.engine.autograd.Autograd;
import dvp.engine.autograd.Node;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.engine.spi.Storage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * An n-dimensional array on one backend: storage + shape + strides + offset (all in elements).
 * Contiguous row-major (NCHW) by default; views (reshape, batch slices) share storage. Channels-last
 * (N, H, W, C in memory) is a stride order of the same tensor ({@link MemoryFormat}): the logical
 * shape and indexing stay [N, C, H, W].
 *
 * <p>Autograd state: {@code requiresGrad} leaves accumulate into {@link #grad()}; non-leaf results
 * carry the {@link Node} that made them. Memory belongs to a {@link Scope}; touching a tensor
 * whose storage was freed throws {@link IllegalStateException}.
 */
public final class Tensor {
    private final Storage storage;
    /**
     * The backend this tensor's primitives dispatch to: the one it was created through. Usually
     * the backend that owns the storage; a decorator (the profiler's {@code ProfilingBackend})
     * when the tensor was created through one, so that ops, backward rules and optimizers that
     * call {@code t.backend().primitive(...)} route through the decorator while the kernels still
     * see the owner's storage. Views and detached tensors keep their source's dispatch backend.
     */
    private final Backend backend;
    private final int[] shape;
    private final long[] strides;
    private final long offset;
    private Scope owner;

    private boolean requiresGrad;
    private Tensor grad;
    private Node gradFn;
    private String name;

    Tensor(Storage storage, Backend backend, int[] shape, long[] strides, long offset, Scope owner) {
        this.storage = storage;
        this.backend = backend;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.owner = owner;
    }

    // ---- creation --------------------------------------------------------------------------------

    /** Uninitialised tensor in the current scope. */
    public static Tensor empty(Backend backend, DType dtype, int... shape) {
        Scope scope = Scope.current();
        Storage st = backend.allocate(dtype, Shape.numel(shape));
        scope.register(st);
        return new Tensor(st, backend, shape.clone(), Shape.contiguousStrides(shape), 0, scope);
    }

    public static Tensor empty(DType dtype, int... shape) { return empty(Backends.current(), dtype, shape); }

    /** Uninitialised tensor in the current scope, dense in the given memory format (channels-last needs rank 4). */
    public static Tensor empty(Backend backend, DType dtype, MemoryFormat format, int... shape) {
        long[] strides = format.strides(shape);
        Scope scope = Scope.current();
        Storage st = backend.allocate(dtype, Shape.numel(shape));
        scope.register(st);
        return new Tensor(st, backend, shape.clone(), strides, 0, scope);
    }

    /** Uninitialised, with t's backend, dtype, shape and memory format (contiguous when t is another view). */
    public static Tensor emptyLike(Tensor t) {
        MemoryFormat f = t.memoryFormat();
        return empty(t.backend(), t.dtype(), f == null ? MemoryFormat.CONTIGUOUS : f, t.shape);
    }

    public static Tensor zeros(Backend backend, int... shape) {
        Tensor t = empty(backend, DType.F32, shape);
        backend.fill(t, 0);
        return t;
    }

    public static Tensor zeros(int... shape) { return zeros(Backends.current(), shape); }

    public static Tensor full(Backend backend, double value, int... shape) {
        Tensor t = empty(backend, DType.F32, shape);
        backend.fill(t, value);
        return t;
    }

    public static Tensor scalar(Backend backend, float value) { return full(backend, value, 1); }

    /** F32 tensor from host data (copied). */
    public static Tensor of(Backend backend, float[] data, int... shape) {
        if (data.length != Shape.numel(shape))
            throw new IllegalArgumentException("Tensor.of: " + data.length + " values for shape " + Shape.str(shape));
        Tensor t = empty(backend, DType.F32, shape);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate((long) data.length * 4, 8);
            MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_FLOAT, 0, data.length);
            backend.copyFromHost(seg, t);
        }
        return t;
    }

    public static Tensor of(float[] data, int... shape) { return of(Backends.current(), data, shape); }

    /** I64 tensor (labels, indices) from host data. */
    public static Tensor ofLongs(Backend backend, long[] data, int... shape) {
        if (data.length != Shape.numel(shape))
            throw new IllegalArgumentException("Tensor.ofLongs: " + data.length + " values for shape " + Shape.str(shape));
        Tensor t = empty(backend, DType.I64, shape);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate((long) data.length * 8, 8);
            MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_LONG, 0, data.length);
            backend.copyFromHost(seg, t);
        }
        return t;
    }

    // ---- metadata ----------------------------------------------------------------------------------

    public int[] shape() { return shape.clone(); }

    public int dim(int i) { return shape[i < 0 ? shape.length + i : i]; }

    public int rank() { return shape.length; }

    public long numel() { return Shape.numel(shape); }

    public long[] strides() { return strides.clone(); }

    public long offset() { return offset; }

    public DType dtype() { return storage.dtype(); }

    /**
     * The backend primitives on this tensor go to (the one it was created through; may be a
     * decorator around the backend that owns the memory, which is {@code storage().backend()}).
     */
    public Backend backend() { return backend; }

    public Device device() { return storage.backend().device(); }

    /** The storage after checking it has not been freed. Backends read memory through this. */
    public Storage storage() {
        if (storage.isFreed())
            throw new IllegalStateException("tensor " + describe() + " used after its scope"
                    + (owner == null ? "" : " '" + owner.name() + "'") + " was closed (its memory is freed)");
        return storage;
    }

    public boolean isFreed() { return storage.isFreed(); }

    public Scope owner() { return owner; }

    void setOwner(Scope s) { owner = s; }

    public boolean isContiguous() {
        long expect = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expect) return false;
            expect *= shape[i];
        }
        return true;
    }

    /**
     * The dense layout this tensor has ({@link MemoryFormat#of}): CHANNELS_LAST for exact N, H, W, C
     * strides, CONTIGUOUS for row-major, null for any other view.
     */
    public MemoryFormat memoryFormat() { return MemoryFormat.of(this); }

    /** Whether the strides are exactly channels-last (see {@link MemoryFormat}). */
    public boolean isChannelsLast() { return memoryFormat() == MemoryFormat.CHANNELS_LAST; }

    public String name() { return name; }

    public Tensor setName(String name) { this.name = name; return this; }

    public String describe() {
        return (name == null ? "" : "'" + name + "' ") + dtype() + Shape.str(shape) + (MemoryFormat.isNhwcMemory(this) ? " channels-last" : "")
                + " on " + device();
    }

    @Override
    public String toString() { return "Tensor(" + describe() + ")"; }

    // ---- views -------------------------------------------------------------------------------------

    /** A view with another shape; the tensor must be contiguous. One dimension may be -1. */
    public Tensor view(int... newShape) {
        int[] s = Shape.inferReshape("view", shape, newShape);
        if (!isContiguous())
            throw new IllegalStateException("view: tensor " + describe() + " is not contiguous; use Ops.reshape");
        return new Tensor(storage(), backend, s, Shape.contiguousStrides(s), offset, owner);
    }

    /** Rows [start, start+len) along dim 0, as a view sharing storage. */
    public Tensor narrow0(int start, int len) {
        if (start < 0 || len < 0 || start + len > shape[0])
            throw new IndexOutOfBoundsException("narrow: rows [" + start + ", " + (start + len) + ") of " + describe());
        int[] s = shape.clone();
        s[0] = len;
        return new Tensor(storage(), backend, s, strides.clone(), offset + start * strides[0], owner);
    }

    /** A view with permuted dimensions (not contiguous in general). */
    public Tensor permute(int... order) {
        if (order.length != shape.length) throw new IllegalArgumentException("permute: order " + Arrays.toString(order) + " for " + describe());
        int[] s = new int[order.length];
        long[] st = new long[order.length];
        boolean[] seen = new boolean[order.length];
        for (int i = 0; i < order.length; i++) {
            if (seen[order[i]]) throw new IllegalArgumentException("permute: repeated dim in " + Arrays.toString(order));
            seen[order[i]] = true;
            s[i] = shape[order[i]];
            st[i] = strides[order[i]];
        }
        return new Tensor(storage(), backend, s, st, offset, owner);
    }

    // ---- host access (explicit synchronisation points) ------------------------------------------------

    public float[] toFloatArray() {
        if (dtype() != DType.F32) throw new IllegalStateException("toFloatArray: tensor is " + dtype());
        Tensor c = isContiguous() ? this : copyContiguous();
        float[] out = new float[(int) numel()];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(Math.max(4, numel() * 4), 8);
            backend().copyToHost(c, seg);
            MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT, 0, out, 0, out.length);
        }
        return out;
    }

    public long[] toLongArray() {
        if (dtype() != DType.I64) throw new IllegalStateException("toLongArray: tensor is " + dtype());
        Tensor c = isContiguous() ? this : copyContiguous();
        long[] out = new long[(int) numel()];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(Math.max(8, numel() * 8), 8);
            backend().copyToHost(c, seg);
            MemorySegment.copy(seg, ValueLayout.JAVA_LONG, 0, out, 0, out.length);
        }
        return out;
    }

    /** The single value of a 1-element F32 tensor; a visible device→host sync. */
    public float item() {
        if (numel() != 1) throw new IllegalStateException("item: tensor " + describe() + " has " + numel() + " elements");
        return toFloatArray()[0];
    }

    /** A contiguous copy in the current scope (no autograd; see Ops.contiguous for the differentiable one). */
    public Tensor copyContiguous() {
        Tensor out = empty(backend(), dtype(), shape);
        backend().copy(this, out);
        return out;
    }

    /**
     * Copies src's values (any view, any layout) into this tensor (same shape, contiguous or
     * channels-last), in place, without autograd: element [n, c, h, w] of src lands at [n, c, h, w].
     */
    public Tensor copyFrom(Tensor src) {
        if (!Arrays.equals(shape, src.shape))
            throw new IllegalArgumentException("copyFrom: shape " + Shape.str(src.shape) + " into " + describe());
        // backends write a copy's destination in memory order: a channels-last destination is the
        // row-major [N, H, W, C] view of its memory, and src is permuted the same way
        if (isContiguous()) backend().copy(src, this);
        else if (isChannelsLast()) backend().copy(src.permute(0, 2, 3, 1), permute(0, 2, 3, 1));
        else throw new IllegalArgumentException("copyFrom: destination " + describe() + " is not contiguous (nor channels-last)");
        return this;
    }

    /**
     * This tensor if it already has the format, else a copy in it (no autograd; see
     * {@link #contiguous(MemoryFormat)} for the differentiable conversion).
     */
    public Tensor inFormat(MemoryFormat format) {
        if (memoryFormat() == format) return this;
        return empty(backend(), dtype(), format, shape).copyFrom(this);
    }

    /**
     * PyTorch's {@code x.contiguous(memory_format=...)}: this tensor when it already has the format,
     * else a differentiable copy in it (same logical values; only the memory order changes). The
     * gradient flows back converted to this tensor's layout.
     */
    public Tensor contiguous(MemoryFormat format) {
        if (memoryFormat() == format) return this;
        Tensor out = inFormat(format);
        Tensor self = this;
        return Autograd.record("contiguous(" + format.label() + ")", out,
                g -> new Tensor[]{g.inFormat(self.memoryFormat() == null ? MemoryFormat.CONTIGUOUS : self.memoryFormat())}, this);
    }

    /** PyTorch's {@code x.to(memory_format=...)}: the same as {@link #contiguous(MemoryFormat)}. */
    public Tensor toMemoryFormat(MemoryFormat format) { return contiguous(format); }

    // ---- autograd ----------------------------------------------------------------------------------

    public boolean requiresGrad() { return requiresGrad; }

    /** Marks a leaf as trainable; its gradient accumulates into {@link #grad()} on backward. */
    public Tensor requiresGrad(boolean value) {
        if (gradFn != null && !value)
            throw new IllegalStateException("requiresGrad(false) on a non-leaf; use detach()");
        this.requiresGrad = value;
        return this;
    }

    public boolean isLeaf() { return gradFn == null; }

    public Tensor grad() { return grad; }

    /** Replaces the accumulated gradient (null clears it); used by optimizers' zeroGrad. */
    public void setGrad(Tensor g) { this.grad = g; }

    public Node gradFn() { return gradFn; }

    /** Called by ops when recording a result; not for user code. */
    public void setGradFn(Node node) {
        this.gradFn = node;
        this.requiresGrad = node != null;
    }

    /** A view of the same memory that autograd treats as a constant. */
    public Tensor detach() { return new Tensor(storage(), backend, shape, strides, offset, owner); }

    /** Backward from this scalar: d(this)/d(this) = 1. */
    public void backward() { Autograd.backward(this); }
}
