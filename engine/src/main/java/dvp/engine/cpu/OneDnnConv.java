package dvp.engine.cpu;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.cpu.ffm.OneDnn;
import dvp.engine.spi.ConvSpec;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The three convolution primitives through oneDNN's direct convolutions, as PyTorch's CPU
 * convolutions run them: dvp's tensors stay NCHW / OIHW; each call reorders its inputs into the
 * blocked layouts oneDNN chose for the shape (e.g. nChw16c), runs the convolution, and reorders the
 * result back. {@link CpuConv} stays the reference these are tested against.
 *
 * <p>Per (op, shape) a {@link Plan} is built once and kept: the primitive, the reorders, and memory
 * objects whose data handles are set on each call. The blocked copies live in three native work
 * buffers shared by all plans (grown on demand); calls are serialised on this object, so no two
 * plans use them at once. Outputs are overwritten (dw too), like {@link CpuConv}.
 *
 * <p>Determinism: results are reproducible run to run at a fixed thread count, but unlike
 * {@link CpuConv} they may differ in the last bits between thread counts (oneDNN splits reductions
 * by thread). The thread count is dvp's pool size ({@link Parallel#poolThreads()}): set on oneDNN's
 * OpenMP runtime before a plan is built (oneDNN fixes a primitive's thread count when it creates the
 * descriptor) and before each call, and part of the plan's key.
 */
final class OneDnnConv {
    private enum Op { FORWARD, BACKWARD_DATA, BACKWARD_WEIGHTS }

    private record Key(Op op, CpuConv.Geometry g, int threads) {
        Key(Op op, CpuConv.Geometry g) { this(op, g, Parallel.poolThreads()); }
    }

    private final OneDnn dnn;
    private final OpenMpThreads omp;
    private final Arena arena = Arena.ofShared(); // descriptors and memory objects of all plans, kept for the JVM's life
    private final MemorySegment engine, stream;
    private final Map<Key, Plan> plans = new HashMap<>();
    private final Map<CpuConv.Geometry, MemorySegment> forwardDescs = new HashMap<>();
    private final WorkBuffer[] work = {new WorkBuffer(), new WorkBuffer(), new WorkBuffer()};
    private final MemorySegment execArgs = arena.allocate(OneDnn.EXEC_ARG_BYTES * 4, 8);

    OneDnnConv(OneDnn dnn) {
        this.dnn = dnn;
        this.omp = OpenMpThreads.find();
        omp.set(Parallel.poolThreads());
        this.engine = dnn.engineCreate();
        this.stream = dnn.streamCreate(engine);
    }

    String describe() { return "oneDNN " + dnn.version() + " (" + dnn.loadedFrom() + ")"; }

    synchronized void forward(Tensor x, Tensor w, Tensor y, ConvSpec spec) {
        run(new Key(Op.FORWARD, CpuConv.Geometry.of(x.shape(), w.shape(), spec)), x, w, y);
    }

    synchronized void backwardData(Tensor dy, Tensor w, Tensor dx, ConvSpec spec) {
        run(new Key(Op.BACKWARD_DATA, CpuConv.Geometry.of(dx.shape(), w.shape(), spec)), dy, w, dx);
    }

    synchronized void backwardFilter(Tensor x, Tensor dy, Tensor dw, ConvSpec spec) {
        run(new Key(Op.BACKWARD_WEIGHTS, CpuConv.Geometry.of(x.shape(), dw.shape(), spec)), x, dy, dw);
    }

    /** in0, in1: the op's two inputs; out: its output (all in dvp's plain layouts). */
    private void run(Key key, Tensor in0, Tensor in1, Tensor out) {
        CpuConv.Geometry g = key.g();
        long[] numel = expectedNumel(key);
        Tensor[] ts = {in0, in1, out};
        long[] user = new long[3];
        for (int i = 0; i < 3; i++) user[i] = address(key, ts[i], numel[i]);
        if (g.n() == 0) { // nothing to convolve: oneDNN may skip the call, so the one output with elements is zeroed here
            if (key.op() == Op.BACKWARD_WEIGHTS) Mem.seg(out).asSlice(Mem.base(out), numel[2] * 4).fill((byte) 0);
            return;
        }
        omp.set(key.threads());
        Plan p = plan(key);
        for (int i = 0; i < 3; i++) {
            Operand a = p.operands[i];
            dnn.setDataHandle(a.user, user[i]);
            if (a.reorder != null) dnn.setDataHandle(a.inner, work[i].ensure(a.innerBytes));
        }
        for (int i = 0; i < 2; i++) {
            Operand a = p.operands[i];
            if (a.reorder != null) execute(a.reorder, OneDnn.ARG_FROM, a.user, OneDnn.ARG_TO, a.inner);
        }
        for (int i = 0; i < 3; i++) setArg(i, p.operands[i].arg, p.operands[i].inner);
        dnn.execute(p.primitive, stream, 3, execArgs);
        Operand o = p.operands[2];
        if (o.reorder != null) execute(o.reorder, OneDnn.ARG_FROM, o.inner, OneDnn.ARG_TO, o.user);
        dnn.streamWait(stream);
    }

    private void execute(MemorySegment primitive, int argA, MemorySegment memA, int argB, MemorySegment memB) {
        setArg(0, argA, memA);
        setArg(1, argB, memB);
        dnn.execute(primitive, stream, 2, execArgs);
    }

    /** Entry i of the dnnl_exec_arg_t array: { int arg; dnnl_memory_t memory; }. */
    private void setArg(int i, int arg, MemorySegment memory) {
        execArgs.set(JAVA_INT, i * OneDnn.EXEC_ARG_BYTES, arg);
        execArgs.set(ADDRESS, i * OneDnn.EXEC_ARG_BYTES + 8, memory);
    }

    /** Element counts of the op's two inputs and its output, in run()'s order. */
    private static long[] expectedNumel(Key key) {
        CpuConv.Geometry g = key.g();
        long x = (long) g.n() * g.ci() * g.h() * g.w(), w = (long) g.co() * g.cig() * g.kh() * g.kw(), y = (long) g.n() * g.co() * g.ho() * g.wo();
        return switch (key.op()) {
            case FORWARD -> new long[]{x, w, y};
            case BACKWARD_DATA -> new long[]{y, w, x};
            case BACKWARD_WEIGHTS -> new long[]{x, y, w};
        };
    }

    /**
     * The native address of t's first element, after checking what oneDNN will read or write through it:
     * f32, contiguous, and the element count the plan expects (asSlice also checks it lies inside the storage).
     */
    private static long address(Key key, Tensor t, long numel) {
        if (t.dtype() != DType.F32 || !t.isContiguous() || t.numel() != numel)
            throw new IllegalArgumentException("onednn conv " + key.op() + ": tensor " + Arrays.toString(t.shape()) + " " + t.dtype()
                    + (t.isContiguous() ? "" : " (not contiguous)") + " does not fit " + key.g() + " (expected " + numel + " contiguous F32 elements)");
        return Mem.seg(t).asSlice(Mem.base(t), numel * 4).address();
    }

    // ---- plans -----------------------------------------------------------------------------------------

    /** One argument of a plan: the user's plain-layout memory, and the layout the primitive wants. */
    private record Operand(int arg, MemorySegment user, MemorySegment inner, MemorySegment reorder, long innerBytes) {}

    private record Plan(MemorySegment primitive, Operand[] operands) {}

    private Plan plan(Key key) {
        Plan p = plans.get(key);
        if (p == null) {
            try {
                p = build(key);
            } catch (RuntimeException e) {
                throw new IllegalStateException("onednn conv " + key.op() + " of " + key.g() + " on " + key.threads() + " threads: " + e.getMessage(), e);
            }
            plans.put(key, p);
        }
        return p;
    }

    private Plan build(Key key) {
        CpuConv.Geometry g = key.g();
        MemorySegment cd = arena.allocate(OneDnn.OP_DESC_BYTES, 64);
        MemorySegment src = md(g.n(), g.ci(), g.h(), g.w()), wts = weightsMd(g), dst = md(g.n(), g.co(), g.ho(), g.wo());
        MemorySegment[] dims = convDims(g);
        MemorySegment pd = switch (key.op()) {
            case FORWARD -> forwardDesc(g);
            case BACKWARD_DATA -> {
                dnn.convBackwardDataDescInit(cd, anyLike(src), anyLike(wts), anyLike(dst), dims[0], dims[1], dims[2]);
                yield dnn.primitiveDescCreate(cd, engine, forwardDesc(g));
            }
            case BACKWARD_WEIGHTS -> {
                dnn.convBackwardWeightsDescInit(cd, anyLike(src), anyLike(wts), anyLike(dst), dims[0], dims[1], dims[2]);
                yield dnn.primitiveDescCreate(cd, engine, forwardDesc(g));
            }
        };
        Operand[] ops = switch (key.op()) {
            case FORWARD -> new Operand[]{
                    operand(OneDnn.ARG_SRC, src, dnn.queryMd(pd, OneDnn.QUERY_SRC_MD), true),
                    operand(OneDnn.ARG_WEIGHTS, wts, dnn.queryMd(pd, OneDnn.QUERY_WEIGHTS_MD), true),
                    operand(OneDnn.ARG_DST, dst, dnn.queryMd(pd, OneDnn.QUERY_DST_MD), false)};
            case BACKWARD_DATA -> new Operand[]{
                    operand(OneDnn.ARG_DIFF_DST, dst, dnn.queryMd(pd, OneDnn.QUERY_DIFF_DST_MD), true),
                    operand(OneDnn.ARG_WEIGHTS, wts, dnn.queryMd(pd, OneDnn.QUERY_WEIGHTS_MD), true),
                    operand(OneDnn.ARG_DIFF_SRC, src, dnn.queryMd(pd, OneDnn.QUERY_DIFF_SRC_MD), false)};
            case BACKWARD_WEIGHTS -> new Operand[]{
                    operand(OneDnn.ARG_SRC, src, dnn.queryMd(pd, OneDnn.QUERY_SRC_MD), true),
                    operand(OneDnn.ARG_DIFF_DST, dst, dnn.queryMd(pd, OneDnn.QUERY_DIFF_DST_MD), true),
                    operand(OneDnn.ARG_DIFF_WEIGHTS, wts, dnn.queryMd(pd, OneDnn.QUERY_DIFF_WEIGHTS_MD), false)};
        };
        return new Plan(dnn.primitiveCreate(pd), ops);
    }

    /** The forward primitive descriptor of g (also the hint every backward descriptor needs). */
    private MemorySegment forwardDesc(CpuConv.Geometry g) {
        MemorySegment pd = forwardDescs.get(g);
        if (pd == null) {
            MemorySegment cd = arena.allocate(OneDnn.OP_DESC_BYTES, 64);
            MemorySegment[] dims = convDims(g);
            dnn.convForwardDescInit(cd, anyLike(md(g.n(), g.ci(), g.h(), g.w())), anyLike(weightsMd(g)),
                    anyLike(md(g.n(), g.co(), g.ho(), g.wo())), dims[0], dims[1], dims[2]);
            pd = dnn.primitiveDescCreate(cd, engine, MemorySegment.NULL);
            forwardDescs.put(g, pd);
        }
        return pd;
    }

    /**
     * user: the plain descriptor of dvp's tensor; chosen: what the primitive wants. An input is
     * reordered user -> chosen before the call, an output chosen -> user after it; no reorder when equal.
     */
    private Operand operand(int arg, MemorySegment user, MemorySegment chosen, boolean input) {
        MemorySegment userMem = dnn.memoryCreate(user, engine);
        if (dnn.memoryDescEqual(user, chosen)) return new Operand(arg, userMem, userMem, null, 0);
        // chosen belongs to the primitive descriptor, which lives as long as the plan (never destroyed)
        MemorySegment reorderPd = input ? dnn.reorderPrimitiveDescCreate(user, chosen, engine)
                : dnn.reorderPrimitiveDescCreate(chosen, user, engine);
        return new Operand(arg, userMem, dnn.memoryCreate(chosen, engine), dnn.primitiveCreate(reorderPd), dnn.memoryDescSize(chosen));
    }

    private MemorySegment md(long... dims) {
        MemorySegment md = arena.allocate(OneDnn.MEMORY_DESC_BYTES, 64);
        dnn.memoryDescInitByTag(md, dims, OneDnn.TAG_NCHW, arena);
        return md;
    }

    /** OIHW, or GOIHW [groups, cog, cig, kh, kw] (the same memory) for a grouped convolution. */
    private MemorySegment weightsMd(CpuConv.Geometry g) {
        MemorySegment md = arena.allocate(OneDnn.MEMORY_DESC_BYTES, 64);
        if (g.groups() == 1) dnn.memoryDescInitByTag(md, new long[]{g.co(), g.cig(), g.kh(), g.kw()}, OneDnn.TAG_OIHW, arena);
        else dnn.memoryDescInitByTag(md, new long[]{g.groups(), g.cog(), g.cig(), g.kh(), g.kw()}, OneDnn.TAG_GOIHW, arena);
        return md;
    }

    /** The same dims with format "any": the primitive picks the layout. */
    private MemorySegment anyLike(MemorySegment plain) {
        int ndims = plain.get(JAVA_INT, 0);
        long[] dims = new long[ndims];
        for (int i = 0; i < ndims; i++) dims[i] = plain.get(JAVA_LONG, 8 + 8L * i);
        MemorySegment md = arena.allocate(OneDnn.MEMORY_DESC_BYTES, 64);
        dnn.memoryDescInitByTag(md, dims, OneDnn.TAG_ANY, arena);
        return md;
    }

    /**
     * strides, left/top padding, right/bottom padding. The far padding makes oneDNN's output size equal
     * PyTorch's floor((H + 2p - k) / s) + 1; it is below p (even negative) when the stride does not
     * divide the span, which oneDNN accepts.
     */
    private MemorySegment[] convDims(CpuConv.Geometry g) {
        long padB = (long) (g.ho() - 1) * g.sh() + g.kh() - g.h() - g.ph();
        long padR = (long) (g.wo() - 1) * g.sw() + g.kw() - g.w() - g.pw();
        return new MemorySegment[]{arena.allocateFrom(JAVA_LONG, g.sh(), g.sw()), arena.allocateFrom(JAVA_LONG, g.ph(), g.pw()),
                arena.allocateFrom(JAVA_LONG, padB, padR)};
    }

    /** A native buffer that only grows; its address is valid until the next growth. */
    private static final class WorkBuffer {
        private Arena owner;
        private MemorySegment seg = MemorySegment.NULL;

        long ensure(long bytes) {
            if (seg.byteSize() < bytes) {
                if (owner != null) owner.close();
                owner = Arena.ofShared();
                seg = owner.allocate(bytes, 64);
            }
            return seg.address();
        }
    }
}
