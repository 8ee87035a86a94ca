package dvp.engine.cpu.ffm;

import dvp.engine.ffm.NativeLibrary;
import dvp.engine.ffm.StatusCall;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * oneDNN 2.x (Intel's CPU deep-learning primitives, the library PyTorch's CPU convolutions call)
 * through java.lang.foreign: only the functions dvp calls, each a named MethodHandle with its C
 * signature, and the enum values dvp uses. Signatures and values follow {@code oneapi/dnnl/dnnl.h}
 * and {@code dnnl_types.h} of oneDNN 2.6 (Debian 12's {@code libdnnl2}, installed with
 * {@code python3-torch}); the 2.x op-descriptor API ({@code dnnl_convolution_*_desc_init}) was
 * replaced in 3.0, so only {@code libdnnl.so.2} is accepted.
 *
 * <p>Opaque handles (engine, stream, primitive descriptor, primitive, memory) are plain addresses.
 * The two structs passed by pointer, {@code dnnl_memory_desc_t} (696 bytes in 2.6) and
 * {@code dnnl_convolution_desc_t} (5976 bytes), are only ever filled and read by the library, so they
 * are allocated as opaque blocks of {@link #MEMORY_DESC_BYTES} / {@link #OP_DESC_BYTES}, sizes with
 * room to spare.
 */
public final class OneDnn {
    // dnnl_data_type_t, dnnl_format_tag_t (2.6)
    public static final int F32 = 3;
    public static final int TAG_ANY = 1, TAG_NCHW = 5, TAG_OIHW = 5, TAG_GOIHW = 7;
    // dnnl_prop_kind_t, dnnl_alg_kind_t, dnnl_engine_kind_t, dnnl_stream_flags_t
    public static final int FORWARD_TRAINING = 64, BACKWARD_DATA = 160, BACKWARD_WEIGHTS = 192;
    public static final int CONVOLUTION_DIRECT = 1;
    /** dnnl_fpmath_mode_t: no implicit down-conversion of f32 math (to bf16/f16) whatever ONEDNN_DEFAULT_FPMATH_MODE says. */
    private static final int FPMATH_MODE_STRICT = 0;
    private static final int ENGINE_CPU = 1, STREAM_DEFAULT_FLAGS = 1;
    // DNNL_ARG_*
    public static final int ARG_SRC = 1, ARG_DST = 17, ARG_WEIGHTS = 33, ARG_DIFF_SRC = 129, ARG_DIFF_DST = 145,
            ARG_DIFF_WEIGHTS = 161, ARG_FROM = 1, ARG_TO = 17;
    // dnnl_query_t
    public static final int QUERY_SRC_MD = 129, QUERY_DIFF_SRC_MD = 130, QUERY_WEIGHTS_MD = 131,
            QUERY_DIFF_WEIGHTS_MD = 132, QUERY_DST_MD = 133, QUERY_DIFF_DST_MD = 134;
    /** Bytes allocated for a dnnl_memory_desc_t (696 in 2.6). */
    public static final long MEMORY_DESC_BYTES = 1024;
    /** Bytes allocated for a dnnl_convolution_desc_t (5976 in 2.6). */
    public static final long OP_DESC_BYTES = 8192;
    /** dnnl_exec_arg_t: { int arg; dnnl_memory_t memory; } */
    public static final long EXEC_ARG_BYTES = 16;

    private final NativeLibrary lib;

    /** const dnnl_version_t* dnnl_version(void) — { int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime; } */
    private final MethodHandle dnnl_version;
    /** const char* dnnl_status2str(dnnl_status_t v) */
    private final MethodHandle dnnl_status2str;
    /** dnnl_status_t dnnl_engine_create(dnnl_engine_t *engine, dnnl_engine_kind_t kind, size_t index) */
    private final MethodHandle dnnl_engine_create;
    /** dnnl_status_t dnnl_stream_create(dnnl_stream_t *stream, dnnl_engine_t engine, unsigned flags) */
    private final MethodHandle dnnl_stream_create;
    /** dnnl_status_t dnnl_stream_wait(dnnl_stream_t stream) */
    private final MethodHandle dnnl_stream_wait;
    /** dnnl_status_t dnnl_memory_desc_init_by_tag(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims, dnnl_data_type_t dt, dnnl_format_tag_t tag) */
    private final MethodHandle dnnl_memory_desc_init_by_tag;
    /** int dnnl_memory_desc_equal(const dnnl_memory_desc_t *lhs, const dnnl_memory_desc_t *rhs) */
    private final MethodHandle dnnl_memory_desc_equal;
    /** size_t dnnl_memory_desc_get_size(const dnnl_memory_desc_t *md) */
    private final MethodHandle dnnl_memory_desc_get_size;
    /**
     * dnnl_status_t dnnl_convolution_forward_desc_init(dnnl_convolution_desc_t *cd, dnnl_prop_kind_t prop,
     * dnnl_alg_kind_t alg, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *weights,
     * const dnnl_memory_desc_t *bias, const dnnl_memory_desc_t *dst, const dnnl_dims_t strides,
     * const dnnl_dims_t padding_l, const dnnl_dims_t padding_r)
     */
    private final MethodHandle dnnl_convolution_forward_desc_init;
    /**
     * dnnl_status_t dnnl_convolution_backward_data_desc_init(dnnl_convolution_desc_t *cd, dnnl_alg_kind_t alg,
     * const dnnl_memory_desc_t *diff_src, const dnnl_memory_desc_t *weights, const dnnl_memory_desc_t *diff_dst,
     * const dnnl_dims_t strides, const dnnl_dims_t padding_l, const dnnl_dims_t padding_r)
     */
    private final MethodHandle dnnl_convolution_backward_data_desc_init;
    /**
     * dnnl_status_t dnnl_convolution_backward_weights_desc_init(dnnl_convolution_desc_t *cd, dnnl_alg_kind_t alg,
     * const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *diff_weights, const dnnl_memory_desc_t *diff_bias,
     * const dnnl_memory_desc_t *diff_dst, const dnnl_dims_t strides, const dnnl_dims_t padding_l,
     * const dnnl_dims_t padding_r)
     */
    private final MethodHandle dnnl_convolution_backward_weights_desc_init;
    /**
     * dnnl_status_t dnnl_primitive_desc_create(dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t op_desc,
     * const_dnnl_primitive_attr_t attr, dnnl_engine_t engine, const_dnnl_primitive_desc_t hint_forward_pd)
     */
    private final MethodHandle dnnl_primitive_desc_create;
    /**
     * dnnl_status_t dnnl_reorder_primitive_desc_create(dnnl_primitive_desc_t *pd, const dnnl_memory_desc_t *src,
     * dnnl_engine_t src_engine, const dnnl_memory_desc_t *dst, dnnl_engine_t dst_engine, const_dnnl_primitive_attr_t attr)
     */
    private final MethodHandle dnnl_reorder_primitive_desc_create;
    /** const dnnl_memory_desc_t* dnnl_primitive_desc_query_md(const_dnnl_primitive_desc_t pd, dnnl_query_t what, int index) */
    private final MethodHandle dnnl_primitive_desc_query_md;
    /** dnnl_status_t dnnl_primitive_create(dnnl_primitive_t *primitive, const_dnnl_primitive_desc_t pd) */
    private final MethodHandle dnnl_primitive_create;
    /** dnnl_status_t dnnl_primitive_execute(const_dnnl_primitive_t p, dnnl_stream_t stream, int nargs, const dnnl_exec_arg_t *args) */
    private final MethodHandle dnnl_primitive_execute;
    /** dnnl_status_t dnnl_memory_create(dnnl_memory_t *memory, const dnnl_memory_desc_t *md, dnnl_engine_t engine, void *handle) */
    private final MethodHandle dnnl_memory_create;
    /** dnnl_status_t dnnl_memory_set_data_handle(dnnl_memory_t memory, void *handle) */
    private final MethodHandle dnnl_memory_set_data_handle;
    /** dnnl_status_t dnnl_primitive_attr_create(dnnl_primitive_attr_t *attr) */
    private final MethodHandle dnnl_primitive_attr_create;
    /** dnnl_status_t dnnl_primitive_attr_set_fpmath_mode(dnnl_primitive_attr_t attr, dnnl_fpmath_mode_t mode) */
    private final MethodHandle dnnl_primitive_attr_set_fpmath_mode;
    /** Attributes of every primitive dvp creates: strict f32 math. */
    private final MemorySegment strictAttr;

    private OneDnn(NativeLibrary lib, MethodHandle dnnl_version) {
        this.lib = lib;
        this.dnnl_version = dnnl_version;
        dnnl_status2str = lib.function("dnnl_status2str", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        dnnl_engine_create = lib.function("dnnl_engine_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG));
        dnnl_stream_create = lib.function("dnnl_stream_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        dnnl_stream_wait = lib.function("dnnl_stream_wait", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        dnnl_memory_desc_init_by_tag = lib.function("dnnl_memory_desc_init_by_tag", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        dnnl_memory_desc_equal = lib.function("dnnl_memory_desc_equal", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        dnnl_memory_desc_get_size = lib.function("dnnl_memory_desc_get_size", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        dnnl_convolution_forward_desc_init = lib.function("dnnl_convolution_forward_desc_init", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        dnnl_convolution_backward_data_desc_init = lib.function("dnnl_convolution_backward_data_desc_init", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        dnnl_convolution_backward_weights_desc_init = lib.function("dnnl_convolution_backward_weights_desc_init", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        dnnl_primitive_desc_create = lib.function("dnnl_primitive_desc_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        dnnl_reorder_primitive_desc_create = lib.function("dnnl_reorder_primitive_desc_create", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        dnnl_primitive_desc_query_md = lib.function("dnnl_primitive_desc_query_md", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, JAVA_INT));
        dnnl_primitive_create = lib.function("dnnl_primitive_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        dnnl_primitive_execute = lib.function("dnnl_primitive_execute", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
        dnnl_memory_create = lib.function("dnnl_memory_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        dnnl_memory_set_data_handle = lib.function("dnnl_memory_set_data_handle", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        dnnl_primitive_attr_create = lib.function("dnnl_primitive_attr_create", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        dnnl_primitive_attr_set_fpmath_mode = lib.function("dnnl_primitive_attr_set_fpmath_mode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        strictAttr = createStrictAttr();
    }

    private MemorySegment createStrictAttr() {
        MemorySegment attr = create("dnnl_primitive_attr_create", out -> (int) dnnl_primitive_attr_create.invokeExact(out));
        call("dnnl_primitive_attr_set_fpmath_mode", () -> (int) dnnl_primitive_attr_set_fpmath_mode.invokeExact(attr, FPMATH_MODE_STRICT));
        return attr;
    }

    /**
     * Finds libdnnl.so.2 (see {@link NativeLibrary#open} for where, and the override DVP_ONEDNN /
     * -Ddvp.onednn.path) and checks that it is a 2.x release before binding the rest: the 3.x API has
     * other entry points for the same operations.
     */
    public static OneDnn load() {
        NativeLibrary lib = NativeLibrary.open("oneDNN", List.of("libdnnl.so.2"), "libdnnl.so.", "dvp.onednn.path", "DVP_ONEDNN",
                List.of(), List.of(), "Debian/Ubuntu: apt-get install libdnnl2 (python3-torch pulls it in)");
        MethodHandle version = lib.function("dnnl_version", FunctionDescriptor.of(ADDRESS));
        int[] v = versionOf(version);
        if (v[0] != 2)
            throw new NativeLibrary.LibraryNotFoundException("oneDNN " + v[0] + "." + v[1] + "." + v[2] + " loaded from " + lib.loadedFrom()
                    + " is not a 2.x release; dvp binds oneDNN's 2.x API (libdnnl.so.2, e.g. Debian 12's libdnnl2)");
        return new OneDnn(lib, version);
    }

    private static int[] versionOf(MethodHandle dnnlVersion) {
        MemorySegment v = value(() -> (MemorySegment) dnnlVersion.invokeExact()).reinterpret(12);
        return new int[]{v.get(JAVA_INT, 0), v.get(JAVA_INT, 4), v.get(JAVA_INT, 8)};
    }

    /** Where the library was loaded from. */
    public String loadedFrom() { return lib.loadedFrom(); }

    /** "major.minor.patch", e.g. "2.6.3". */
    public String version() {
        int[] v = versionOf(dnnl_version);
        return v[0] + "." + v[1] + "." + v[2];
    }

    // ---- calls: each checks its status and names itself in the error -------------------------------

    public MemorySegment engineCreate() {
        return create("dnnl_engine_create", out -> (int) dnnl_engine_create.invokeExact(out, ENGINE_CPU, 0L));
    }

    public MemorySegment streamCreate(MemorySegment engine) {
        return create("dnnl_stream_create", out -> (int) dnnl_stream_create.invokeExact(out, engine, STREAM_DEFAULT_FLAGS));
    }

    public void streamWait(MemorySegment stream) {
        call("dnnl_stream_wait", () -> (int) dnnl_stream_wait.invokeExact(stream));
    }

    /** Fills md (MEMORY_DESC_BYTES) with an f32 descriptor of the given dims in a plain layout tag. */
    public void memoryDescInitByTag(MemorySegment md, long[] dims, int tag, Arena arena) {
        MemorySegment d = arena.allocateFrom(JAVA_LONG, dims);
        call("dnnl_memory_desc_init_by_tag", () -> (int) dnnl_memory_desc_init_by_tag.invokeExact(md, dims.length, d, F32, tag));
    }

    public boolean memoryDescEqual(MemorySegment a, MemorySegment b) {
        return value(() -> (int) dnnl_memory_desc_equal.invokeExact(a, b)) != 0;
    }

    public long memoryDescSize(MemorySegment md) {
        return value(() -> (long) dnnl_memory_desc_get_size.invokeExact(md));
    }

    public void convForwardDescInit(MemorySegment cd, MemorySegment src, MemorySegment w, MemorySegment dst,
                                    MemorySegment strides, MemorySegment padL, MemorySegment padR) {
        call("dnnl_convolution_forward_desc_init", () -> (int) dnnl_convolution_forward_desc_init.invokeExact(cd, FORWARD_TRAINING,
                CONVOLUTION_DIRECT, src, w, MemorySegment.NULL, dst, strides, padL, padR));
    }

    public void convBackwardDataDescInit(MemorySegment cd, MemorySegment diffSrc, MemorySegment w, MemorySegment diffDst,
                                         MemorySegment strides, MemorySegment padL, MemorySegment padR) {
        call("dnnl_convolution_backward_data_desc_init", () -> (int) dnnl_convolution_backward_data_desc_init.invokeExact(cd,
                CONVOLUTION_DIRECT, diffSrc, w, diffDst, strides, padL, padR));
    }

    public void convBackwardWeightsDescInit(MemorySegment cd, MemorySegment src, MemorySegment diffW, MemorySegment diffDst,
                                            MemorySegment strides, MemorySegment padL, MemorySegment padR) {
        call("dnnl_convolution_backward_weights_desc_init", () -> (int) dnnl_convolution_backward_weights_desc_init.invokeExact(cd,
                CONVOLUTION_DIRECT, src, diffW, MemorySegment.NULL, diffDst, strides, padL, padR));
    }

    /** A primitive descriptor for op_desc with strict f32 math; hint is the forward one for backward ops, else NULL. */
    public MemorySegment primitiveDescCreate(MemorySegment opDesc, MemorySegment engine, MemorySegment hint) {
        return create("dnnl_primitive_desc_create", out -> (int) dnnl_primitive_desc_create.invokeExact(out, opDesc, strictAttr, engine, hint));
    }

    public MemorySegment reorderPrimitiveDescCreate(MemorySegment src, MemorySegment dst, MemorySegment engine) {
        return create("dnnl_reorder_primitive_desc_create",
                out -> (int) dnnl_reorder_primitive_desc_create.invokeExact(out, src, engine, dst, engine, MemorySegment.NULL));
    }

    /**
     * The memory descriptor a primitive descriptor chose for `what`: owned by (and valid as long as) the
     * primitive descriptor; only ever handed back to oneDNN, never read here (its size is the library's).
     */
    public MemorySegment queryMd(MemorySegment pd, int what) {
        MemorySegment md = value(() -> (MemorySegment) dnnl_primitive_desc_query_md.invokeExact(pd, what, 0));
        if (md.equals(MemorySegment.NULL)) throw new IllegalStateException("oneDNN: primitive descriptor has no memory descriptor for query " + what);
        return md.reinterpret(MEMORY_DESC_BYTES);
    }

    public MemorySegment primitiveCreate(MemorySegment pd) {
        return create("dnnl_primitive_create", out -> (int) dnnl_primitive_create.invokeExact(out, pd));
    }

    /** A memory object for md with no buffer yet (set per call with {@link #setDataHandle}). */
    public MemorySegment memoryCreate(MemorySegment md, MemorySegment engine) {
        return create("dnnl_memory_create", out -> (int) dnnl_memory_create.invokeExact(out, md, engine, MemorySegment.NULL));
    }

    public void setDataHandle(MemorySegment memory, long address) {
        call("dnnl_memory_set_data_handle", () -> (int) dnnl_memory_set_data_handle.invokeExact(memory, MemorySegment.ofAddress(address)));
    }

    /** Runs a primitive; args holds nargs dnnl_exec_arg_t. */
    public void execute(MemorySegment primitive, MemorySegment stream, int nargs, MemorySegment args) {
        call("dnnl_primitive_execute", () -> (int) dnnl_primitive_execute.invokeExact(primitive, stream, nargs, args));
    }

    // ---- helpers ------------------------------------------------------------------------------------

    /** A call whose result is returned through its first argument, a pointer to one pointer. */
    @FunctionalInterface
    private interface OutCall {
        int run(MemorySegment out) throws Throwable;
    }

    /** A call that returns its value directly (no status). */
    @FunctionalInterface
    private interface ValueCall<T> {
        T run() throws Throwable;
    }

    private MemorySegment create(String name, OutCall c) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            call(name, () -> c.run(out));
            return out.get(ADDRESS, 0);
        }
    }

    private void call(String name, StatusCall c) {
        int status = value(c::run);
        if (status == 0) return;
        String text;
        try {
            text = ((MemorySegment) dnnl_status2str.invokeExact(status)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            text = "unknown status";
        }
        throw new OneDnnException(name + " failed: " + text + " (status " + status + "; oneDNN " + lib.loadedFrom() + ")");
    }

    private static <T> T value(ValueCall<T> c) {
        try {
            return c.run();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("oneDNN downcall failed: " + t, t);
        }
    }

    /** A oneDNN call returned an error status; the message names the call and the status. */
    public static final class OneDnnException extends RuntimeException {
        public OneDnnException(String message) { super(message); }
    }
}
