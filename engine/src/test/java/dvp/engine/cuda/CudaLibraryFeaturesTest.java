package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.cuda.ffm.Cublas;
import dvp.engine.cuda.ffm.Cudnn;
import dvp.engine.cuda.ffm.Feature;
import dvp.engine.cuda.ffm.Symbols;
import dvp.engine.ffm.NativeLibrary;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.api.Test;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * cuBLAS and cuDNN bound per feature: a library that lacks some functions (an older or newer
 * version; cuDNN 9 deprecates its legacy convolution and batch-norm API) loses only the features
 * that need them, and says which, instead of making the whole CUDA backend unavailable. The real
 * libraries of this machine (the simulator's here) are opened again through a view that hides
 * chosen symbols.
 */
class CudaLibraryFeaturesTest {
    /** The library with some symbols missing, as a version without them would be. */
    static Symbols hiding(NativeLibrary lib, Set<String> hidden) {
        Symbols all = Symbols.of(lib);
        return new Symbols() {
            @Override public MethodHandle function(String name, FunctionDescriptor fd) {
                if (hidden.contains(name))
                    throw new NativeLibrary.LibraryNotFoundException("test library " + all.loadedFrom() + " has no symbol '" + name + "'");
                return all.function(name, fd);
            }

            @Override public String loadedFrom() { return all.loadedFrom(); }
        };
    }

    private static NativeLibrary cudnnLibrary(CudaContext ctx) {
        return ctx.simulated ? CudaSimulator.library("cuDNN", "libcudnn.so.9") : Cudnn.locate();
    }

    private static NativeLibrary cublasLibrary(CudaContext ctx) {
        return ctx.simulated ? CudaSimulator.library("cuBLAS", "libcublas.so.13") : Cublas.locate();
    }

    @Test
    void aCudnnWithoutBatchNormStillConvolvesAndBatchNormFallsBackToDvpsKernels() {
        CudaTesting.cuda();
        CudaContext ctx = CudaContext.get();
        ctx.enter("test");
        Cudnn dnn = Cudnn.create(hiding(cudnnLibrary(ctx), Set.of("cudnnBatchNormalizationBackward")), ctx.stream.address(), () -> " (test)");
        try {
            assertFalse(dnn.batchNormAvailable());
            Feature<?> bn = dnn.features().stream().filter(f -> f.name().equals("batch norm")).findFirst().orElseThrow();
            assertTrue(bn.status().contains("cuDNN batch norm is unavailable") && bn.status().contains("cudnnBatchNormalizationBackward"), bn.status());
            // convolutions are a feature of their own: descriptors, the heuristics and the workspace query work
            MemorySegment x = dnn.tensor4d(Cudnn.TENSOR_NCHW, Cudnn.DATA_FLOAT, 2, 4, 5, 5);
            MemorySegment w = dnn.filter4d(Cudnn.DATA_FLOAT, Cudnn.TENSOR_NCHW, 3, 4, 3, 3);
            MemorySegment y = dnn.tensor4d(Cudnn.TENSOR_NCHW, Cudnn.DATA_FLOAT, 2, 3, 5, 5);
            MemorySegment conv = dnn.convolution2d(1, 1, 1, 1, Cudnn.DATA_FLOAT, 1, Cudnn.FMA_MATH);
            assertTrue(dnn.chooseAlgorithm(Cudnn.Direction.FORWARD, x, w, conv, y, 1L << 20).deterministic());
            Feature.FeatureUnavailableException e = assertThrows(Feature.FeatureUnavailableException.class,
                    () -> dnn.batchNormBackward(x, 0, 0, 0, dnn.tensor4d(Cudnn.TENSOR_NCHW, Cudnn.DATA_FLOAT, 1, 4, 1, 1), 0, 0, 0, 1e-5, 0, 0));
            assertTrue(e.getMessage().contains("batch norm") && e.getMessage().contains("cudnnBatchNormalizationBackward"), e.getMessage());
            // the backend's batch norm then takes dvp's own kernels, whatever eps
            assertEquals(CudaBatchNorm.Path.OWN_KERNELS, CudaBatchNorm.path(true, 1e-5f, dnn));
            assertEquals(CudaBatchNorm.Path.CUDNN, CudaBatchNorm.path(true, 1e-5f, ctx.dnn), "the full library has it");
            // dvp doctor: degraded, not broken
            CudaDiagnostics.Line line = CudaDiagnostics.features("cuDNN features", dnn.features(), java.util.List.of("tensor descriptors", "convolution"));
            assertTrue(line.ok() && line.value().contains("convolution available") && line.value().contains("batch norm is unavailable"), line.toString());
        } finally {
            dnn.destroy();
        }
    }

    @Test
    void aCudnnWithoutConvolutionsSaysSoWhenOneIsAskedFor() {
        CudaTesting.cuda();
        CudaContext ctx = CudaContext.get();
        ctx.enter("test");
        Cudnn dnn = Cudnn.create(hiding(cudnnLibrary(ctx), Set.of("cudnnConvolutionBackwardFilter")), ctx.stream.address(), () -> " (test)");
        try {
            assertTrue(dnn.batchNormAvailable(), "batch norm does not need the convolution functions");
            Feature.FeatureUnavailableException e = assertThrows(Feature.FeatureUnavailableException.class,
                    () -> dnn.convolution2d(1, 1, 1, 1, Cudnn.DATA_FLOAT, 1, Cudnn.FMA_MATH));
            assertTrue(e.getMessage().startsWith("cuDNN convolution is unavailable") && e.getMessage().contains("cudnnConvolutionBackwardFilter"),
                    e.getMessage());
            CudaDiagnostics.Line line = CudaDiagnostics.features("cuDNN features", dnn.features(), java.util.List.of("tensor descriptors", "convolution"));
            assertFalse(line.ok(), "convolutions are essential: " + line);
        } finally {
            dnn.destroy();
        }
    }

    @Test
    void aCublasWithoutBatchedGemmStillMultiplies() {
        CudaBackend cuda = CudaTesting.cuda();
        CudaContext ctx = CudaContext.get();
        ctx.enter("test");
        CachingAllocator.Block ws = ctx.allocator.allocate(1 << 20, "test cuBLAS workspace");
        Cublas blas = Cublas.create(hiding(cublasLibrary(ctx), Set.of("cublasGemmStridedBatchedEx")), ctx.stream.address(), ws.address,
                1 << 20, () -> " (test)");
        try (Scope s = Scope.open("gemm")) {
            // row-major C[2x3] = A[2x2] B[2x3], as CudaBlas: C^T = B^T A^T in column-major
            Tensor a = Tensor.of(cuda, new float[]{1, 2, 3, 4}, 2, 2), b = Tensor.of(cuda, new float[]{1, 0, 2, 0, 1, 3}, 2, 3);
            Tensor c = Tensor.empty(cuda, DType.F32, 2, 3);
            blas.gemmEx(Cublas.OP_N, Cublas.OP_N, 3, 2, 2, 1f, Addr.of(b), Cublas.CUDA_R_32F, 3, Addr.of(a), Cublas.CUDA_R_32F, 2,
                    0f, Addr.of(c), Cublas.CUDA_R_32F, 3, Cublas.COMPUTE_32F);
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[]{1, 2, 8, 3, 4, 18}, c.toFloatArray());
            Feature.FeatureUnavailableException e = assertThrows(Feature.FeatureUnavailableException.class, () -> blas.gemmStridedBatchedEx(
                    Cublas.OP_N, Cublas.OP_N, 3, 2, 2, 1f, Addr.of(b), Cublas.CUDA_R_32F, 3, 6, Addr.of(a), Cublas.CUDA_R_32F, 2, 4,
                    0f, Addr.of(c), Cublas.CUDA_R_32F, 3, 6, 1, Cublas.COMPUTE_32F));
            assertTrue(e.getMessage().startsWith("cuBLAS batched GEMM is unavailable") && e.getMessage().contains("cublasGemmStridedBatchedEx"),
                    e.getMessage());
        } finally {
            blas.destroy();
            ctx.allocator.free(ws);
        }
    }

    @Test
    void withoutAHandleFunctionNothingWorksAndTheErrorNamesIt() {
        CudaTesting.cuda();
        CudaContext ctx = CudaContext.get();
        ctx.enter("test");
        NativeLibrary.LibraryNotFoundException e = assertThrows(NativeLibrary.LibraryNotFoundException.class,
                () -> Cudnn.create(hiding(cudnnLibrary(ctx), Set.of("cudnnCreate")), ctx.stream.address(), () -> ""));
        assertTrue(e.getMessage().contains("cudnnCreate"), e.getMessage());
    }
}
