package dvp.engine.cuda.ffm;

import dvp.engine.ffm.NativeLibrary;
import dvp.engine.ffm.StatusCall;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.function.Supplier;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLAS (v2 API) through java.lang.foreign: only the functions dvp calls, each a named
 * MethodHandle with its C signature. Signatures and enum values are those of cuBLAS 12/13's
 * {@code cublas_api.h} as documented at docs.nvidia.com/cuda/cublas (sections "cuBLAS Helper
 * Function Reference", "cublasGemmEx", "cublasGemmStridedBatchedEx", "cublasComputeType_t");
 * {@code cudaDataType} values are checked against {@code library_types.h} of the installed CUDA
 * toolkit (CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14).
 *
 * <p>The handle functions are bound at creation; each feature's functions (GEMM, batched GEMM, the
 * version query, status texts) on its first use ({@link Feature}), so a library that lacks one of
 * them loses only that feature, and says which.
 *
 * <p>UNVERIFIED on a GPU: written and compiled without a device or the cuBLAS library.
 */
public final class Cublas {
    // cublasOperation_t
    public static final int OP_N = 0, OP_T = 1;
    // cudaDataType_t (library_types.h)
    public static final int CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14;
    // cublasComputeType_t
    public static final int COMPUTE_32F = 68, COMPUTE_32F_PEDANTIC = 69, COMPUTE_32F_FAST_TF32 = 77;
    // cublasMath_t: CUBLAS_DEFAULT_MATH keeps fp32 GEMMs in true fp32; TF32 is asked for per call
    // through the compute type instead.
    public static final int DEFAULT_MATH = 0;
    // cublasGemmAlgo_t
    public static final int GEMM_DEFAULT = -1;

    private final Symbols lib;
    private final Supplier<String> context;

    /** cublasStatus_t cublasCreate_v2(cublasHandle_t *handle) */
    private final MethodHandle cublasCreate_v2;
    /** cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) */
    private final MethodHandle cublasDestroy_v2;
    /** cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version) */
    private final MethodHandle cublasGetVersion_v2;
    /** cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId) */
    private final MethodHandle cublasSetStream_v2;
    /** cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace, size_t workspaceSizeInBytes) */
    private final MethodHandle cublasSetWorkspace_v2;
    /** cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) */
    private final MethodHandle cublasSetMathMode;

    /** Status texts (messages only: without them a status is reported by number). */
    private static final class StatusText {
        /** const char* cublasGetStatusString(cublasStatus_t status) */
        private final MethodHandle cublasGetStatusString;

        StatusText(Symbols lib) {
            cublasGetStatusString = lib.function("cublasGetStatusString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        }
    }

    /** The library version without a handle (for doctor). */
    private static final class Property {
        /** cublasStatus_t cublasGetProperty(libraryPropertyType type, int *value) — needs no handle. */
        private final MethodHandle cublasGetProperty;

        Property(Symbols lib) {
            cublasGetProperty = lib.function("cublasGetProperty", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        }
    }

    /** GEMM (matmul). */
    private static final class Gemm {
        /**
         * cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
         *     int m, int n, int k, const void *alpha, const void *A, cudaDataType_t Atype, int lda,
         *     const void *B, cudaDataType_t Btype, int ldb, const void *beta, void *C, cudaDataType_t Ctype, int ldc,
         *     cublasComputeType_t computeType, cublasGemmAlgo_t algo)
         */
        private final MethodHandle cublasGemmEx;

        Gemm(Symbols lib) {
            cublasGemmEx = lib.function("cublasGemmEx", FunctionDescriptor.of(JAVA_INT,
                    ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS,
                    ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS,
                    ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        }
    }

    /** Strided batched GEMM. */
    private static final class BatchedGemm {
        /**
         * cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
         *     cublasOperation_t transb, int m, int n, int k, const void *alpha,
         *     const void *A, cudaDataType_t Atype, int lda, long long int strideA,
         *     const void *B, cudaDataType_t Btype, int ldb, long long int strideB, const void *beta,
         *     void *C, cudaDataType_t Ctype, int ldc, long long int strideC, int batchCount,
         *     cublasComputeType_t computeType, cublasGemmAlgo_t algo)
         */
        private final MethodHandle cublasGemmStridedBatchedEx;

        BatchedGemm(Symbols lib) {
            cublasGemmStridedBatchedEx = lib.function("cublasGemmStridedBatchedEx", FunctionDescriptor.of(JAVA_INT,
                    ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS,
                    ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS,
                    ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT));
        }
    }

    private final Feature<StatusText> statusText;
    private final Feature<Property> property;
    private final Feature<Gemm> gemm;
    private final Feature<BatchedGemm> batchedGemm;

    private MemorySegment handle = MemorySegment.NULL;

    /**
     * Binds the handle functions now (without them nothing works); every feature's functions are
     * bound on first use ({@link Feature}), so a cuBLAS without one of them loses only that feature.
     */
    private Cublas(Symbols lib, Supplier<String> context) {
        this.lib = lib;
        this.context = context;
        cublasCreate_v2 = lib.function("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cublasDestroy_v2 = lib.function("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cublasGetVersion_v2 = lib.function("cublasGetVersion_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cublasSetStream_v2 = lib.function("cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cublasSetWorkspace_v2 = lib.function("cublasSetWorkspace_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        cublasSetMathMode = lib.function("cublasSetMathMode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        statusText = new Feature<>("cuBLAS", "status texts", () -> new StatusText(lib));
        property = new Feature<>("cuBLAS", "version query", () -> new Property(lib));
        gemm = new Feature<>("cuBLAS", "GEMM", () -> new Gemm(lib));
        batchedGemm = new Feature<>("cuBLAS", "batched GEMM", () -> new BatchedGemm(lib));
    }

    /** The lazily bound features, for {@code dvp doctor} and the tests. */
    public List<Feature<?>> features() { return List.of(gemm, batchedGemm, property, statusText); }

    /** Finds libcublas.so.13 (or .12); see {@link NativeLibrary#open} for where and the override. */
    public static NativeLibrary locate() {
        return NativeLibrary.open("cuBLAS", List.of("libcublas.so.13", "libcublas.so.12"), "libcublas.so.",
                "dvp.cublas.path", "DVP_CUBLAS",
                List.of("nvidia/cu13/lib", "nvidia/cublas/lib"), List.of("libcublasLt.so.13", "libcublasLt.so.12"),
                "e.g. pip install nvidia-cublas for CUDA 13, nvidia-cublas-cu12 for CUDA 12, or the CUDA toolkit");
    }

    /** Binds the handle functions, creates a handle on {@code stream} with a fixed workspace (needed for graph capture). */
    public static Cublas create(NativeLibrary lib, long stream, long workspace, long workspaceBytes, Supplier<String> context) {
        return create(Symbols.of(lib), stream, workspace, workspaceBytes, context);
    }

    /** {@link #create(NativeLibrary, long, long, long, Supplier)} from any {@link Symbols}. */
    public static Cublas create(Symbols lib, long stream, long workspace, long workspaceBytes, Supplier<String> context) {
        Cublas b = new Cublas(lib, context);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = a.allocate(ADDRESS);
            b.check("cublasCreate_v2", (int) b.cublasCreate_v2.invokeExact(h));
            b.handle = h.get(ADDRESS, 0);
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("cublasCreate_v2: " + t, t);
        }
        b.call("cublasSetStream_v2", () -> (int) b.cublasSetStream_v2.invokeExact(b.handle, MemorySegment.ofAddress(stream)));
        b.call("cublasSetWorkspace_v2", () -> (int) b.cublasSetWorkspace_v2.invokeExact(b.handle, MemorySegment.ofAddress(workspace), workspaceBytes));
        b.call("cublasSetMathMode", () -> (int) b.cublasSetMathMode.invokeExact(b.handle, DEFAULT_MATH));
        return b;
    }

    public String loadedFrom() { return lib.loadedFrom(); }

    /** Binds the handle functions without creating a handle (no GPU needed): for reporting the version. */
    public static Cublas unbound(NativeLibrary lib) { return new Cublas(Symbols.of(lib), () -> ""); }

    /** "13.0.2": cublasGetProperty with MAJOR_VERSION (0), MINOR_VERSION (1), PATCH_LEVEL (2). */
    public String libraryVersion() {
        StringBuilder sb = new StringBuilder();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            for (int type = 0; type < 3; type++) {
                final int t = type;
                call("cublasGetProperty", () -> (int) property.get().cublasGetProperty.invokeExact(t, v));
                if (type > 0) sb.append('.');
                sb.append(v.get(JAVA_INT, 0));
            }
        }
        return sb.toString();
    }

    /** cuBLAS version as major*10000 + minor*100 + patch (cublasGetVersion). */
    public int version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            call("cublasGetVersion_v2", () -> (int) cublasGetVersion_v2.invokeExact(handle, v));
            return v.get(JAVA_INT, 0);
        }
    }

    /**
     * Column-major C[m,n] = alpha * op(A) op(B) + beta * C with host-side fp32 alpha/beta (the default
     * CUBLAS_POINTER_MODE_HOST; cuBLAS reads them before returning, so a confined arena is enough).
     */
    public void gemmEx(int transa, int transb, int m, int n, int k, float alpha, long a, int atype, int lda,
                       long b, int btype, int ldb, float beta, long c, int ctype, int ldc, int computeType) {
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment al = ar.allocateFrom(JAVA_FLOAT, alpha), be = ar.allocateFrom(JAVA_FLOAT, beta);
            call("cublasGemmEx", () -> (int) gemm.get().cublasGemmEx.invokeExact(handle, transa, transb, m, n, k, al,
                    MemorySegment.ofAddress(a), atype, lda, MemorySegment.ofAddress(b), btype, ldb, be,
                    MemorySegment.ofAddress(c), ctype, ldc, computeType, GEMM_DEFAULT));
        }
    }

    /** {@link #gemmEx} over {@code batch} matrices, each operand advancing by its stride (in elements). */
    public void gemmStridedBatchedEx(int transa, int transb, int m, int n, int k, float alpha, long a, int atype, int lda,
                                     long strideA, long b, int btype, int ldb, long strideB, float beta, long c, int ctype,
                                     int ldc, long strideC, int batch, int computeType) {
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment al = ar.allocateFrom(JAVA_FLOAT, alpha), be = ar.allocateFrom(JAVA_FLOAT, beta);
            call("cublasGemmStridedBatchedEx", () -> (int) batchedGemm.get().cublasGemmStridedBatchedEx.invokeExact(handle, transa, transb, m, n, k, al,
                    MemorySegment.ofAddress(a), atype, lda, strideA, MemorySegment.ofAddress(b), btype, ldb, strideB, be,
                    MemorySegment.ofAddress(c), ctype, ldc, strideC, batch, computeType, GEMM_DEFAULT));
        }
    }

    public void destroy() {
        if (handle.equals(MemorySegment.NULL)) return;
        MemorySegment h = handle;
        handle = MemorySegment.NULL;
        call("cublasDestroy_v2", () -> (int) cublasDestroy_v2.invokeExact(h));
    }

    private void call(String name, StatusCall c) {
        int status;
        try {
            status = c.run();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(name + ": " + t, t);
        }
        check(name, status);
    }

    private void check(String name, int status) {
        if (status == 0) return;
        String text = "status " + status;
        if (statusText.available()) {
            try {
                MemorySegment s = (MemorySegment) statusText.get().cublasGetStatusString.invokeExact(status);
                text = s.reinterpret(256).getString(0);
            } catch (Throwable t) {
                // keep the number
            }
        }
        throw new LibraryCallException("cuBLAS", name, status, text, context.get());
    }
}
