package dvp.engine.cuda.ffm;

import dvp.engine.ffm.NativeLibrary;
import dvp.engine.ffm.StatusCall;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.function.Supplier;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuDNN 9 through java.lang.foreign, legacy (descriptor) API: only the functions dvp calls, each a
 * named MethodHandle with its C signature. Signatures and enum values follow NVIDIA's cuDNN 9 API
 * reference (docs.nvidia.com/deeplearning/cudnn/latest/api: cudnn_graph — handles, tensor
 * descriptors, cudnnGetVersion, cudnnGetErrorString; cudnn_ops — batch norm; cudnn_cnn —
 * convolution descriptors, cudnnGetConvolution*Algorithm_v7, cudnnConvolution*). All the
 * convolution and batch-norm entry points used here are deprecated since cuDNN 9.0 but present in
 * every 9.x (research/performance.md §3.3); the graph API is the planned replacement. Should a
 * version drop some of them, only the feature that needs them is lost: the handle functions are
 * bound at creation, each feature's functions on its first use ({@link Feature}).
 *
 * <p>UNVERIFIED on a GPU: written and compiled without a device or the cuDNN library.
 */
public final class Cudnn {
    // cudnnDataType_t
    public static final int DATA_FLOAT = 0, DATA_HALF = 2, DATA_BFLOAT16 = 9;
    // cudnnTensorFormat_t
    public static final int TENSOR_NCHW = 0, TENSOR_NHWC = 1;
    // cudnnConvolutionMode_t: PyTorch's conv2d is a cross-correlation
    public static final int CROSS_CORRELATION = 1;
    // cudnnMathType_t: FMA_MATH forbids tensor cores (true fp32); DEFAULT_MATH lets fp32 use TF32
    public static final int DEFAULT_MATH = 0, TENSOR_OP_MATH = 1, FMA_MATH = 3;
    // cudnnDeterminism_t
    public static final int DETERMINISTIC = 1;
    // cudnnBatchNormMode_t
    public static final int BATCHNORM_SPATIAL = 1;
    /**
     * CUDNN_BN_MIN_EPSILON: cuDNN refuses a smaller batch-norm epsilon. cuDNN 9's cudnn_ops.h defines
     * it as 0.0 (cuDNN 7 and earlier had 1e-5, which PyTorch's default eps, the float 1e-5f =
     * 9.99999975e-6, fails: compared against that, cuDNN's batch norm was never used).
     */
    public static final double BN_MIN_EPSILON = 0.0;

    /**
     * cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t (identical layouts):
     * { int algo; cudnnStatus_t status; float time; size_t memory; cudnnDeterminism_t determinism;
     *   cudnnMathType_t mathType; int reserved[3]; }
     */
    public static final StructLayout ALGO_PERF = MemoryLayout.structLayout(
            JAVA_INT.withName("algo"), JAVA_INT.withName("status"), JAVA_FLOAT.withName("time"),
            MemoryLayout.paddingLayout(4), JAVA_LONG.withName("memory"), JAVA_INT.withName("determinism"),
            JAVA_INT.withName("mathType"), MemoryLayout.sequenceLayout(3, JAVA_INT).withName("reserved"),
            MemoryLayout.paddingLayout(4));

    private final Symbols lib;
    private final Supplier<String> context;

    /** size_t cudnnGetVersion(void) */
    private final MethodHandle cudnnGetVersion;
    /** cudnnStatus_t cudnnCreate(cudnnHandle_t *handle) */
    private final MethodHandle cudnnCreate;
    /** cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) */
    private final MethodHandle cudnnDestroy;
    /** cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId) */
    private final MethodHandle cudnnSetStream;

    private MemorySegment handle = MemorySegment.NULL;
    /** Host constants 1.0f and 0.0f for alpha/beta arguments (float for float tensors, per the cuDNN docs). */
    private final MemorySegment one, zero;

    /** Error texts (messages only: without them a status is reported by number). */
    private static final class ErrorText {
        /** const char* cudnnGetErrorString(cudnnStatus_t status) */
        private final MethodHandle cudnnGetErrorString;

        ErrorText(Symbols lib) {
            cudnnGetErrorString = lib.function("cudnnGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        }
    }

    /** Tensor descriptors (convolutions and batch norm). */
    private static final class Descriptors {
        /** cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *tensorDesc) */
        private final MethodHandle cudnnCreateTensorDescriptor;
        /**
         * cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format,
         *     cudnnDataType_t dataType, int n, int c, int h, int w)
         */
        private final MethodHandle cudnnSetTensor4dDescriptor;
        /** cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t tensorDesc) */
        private final MethodHandle cudnnDestroyTensorDescriptor;

        Descriptors(Symbols lib) {
            cudnnCreateTensorDescriptor = lib.function("cudnnCreateTensorDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            cudnnSetTensor4dDescriptor = lib.function("cudnnSetTensor4dDescriptor", FunctionDescriptor.of(JAVA_INT,
                    ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
            cudnnDestroyTensorDescriptor = lib.function("cudnnDestroyTensorDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        }
    }

    /** Convolutions: filter and convolution descriptors, algorithm heuristics, workspace sizes, the three directions. */
    private static final class Convolution {
        /** cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *filterDesc) */
        private final MethodHandle cudnnCreateFilterDescriptor;
        /**
         * cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType,
         *     cudnnTensorFormat_t format, int k, int c, int h, int w)
         */
        private final MethodHandle cudnnSetFilter4dDescriptor;
        /** cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t filterDesc) */
        private final MethodHandle cudnnDestroyFilterDescriptor;
        /** cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *convDesc) */
        private final MethodHandle cudnnCreateConvolutionDescriptor;
        /**
         * cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t convDesc, int pad_h, int pad_w,
         *     int u, int v, int dilation_h, int dilation_w, cudnnConvolutionMode_t mode, cudnnDataType_t computeType)
         */
        private final MethodHandle cudnnSetConvolution2dDescriptor;
        /** cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t convDesc, int groupCount) */
        private final MethodHandle cudnnSetConvolutionGroupCount;
        /** cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t mathType) */
        private final MethodHandle cudnnSetConvolutionMathType;
        /** cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t convDesc) */
        private final MethodHandle cudnnDestroyConvolutionDescriptor;
        /**
         * cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
         *     const cudnnFilterDescriptor_t wDesc, const cudnnConvolutionDescriptor_t convDesc,
         *     const cudnnTensorDescriptor_t yDesc, const int requestedAlgoCount, int *returnedAlgoCount,
         *     cudnnConvolutionFwdAlgoPerf_t *perfResults)
         */
        private final MethodHandle cudnnGetConvolutionForwardAlgorithm_v7;
        /**
         * cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
         *     const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,
         *     const cudnnTensorDescriptor_t dxDesc, const int requestedAlgoCount, int *returnedAlgoCount,
         *     cudnnConvolutionBwdDataAlgoPerf_t *perfResults)
         */
        private final MethodHandle cudnnGetConvolutionBackwardDataAlgorithm_v7;
        /**
         * cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
         *     const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,
         *     const cudnnFilterDescriptor_t dwDesc, const int requestedAlgoCount, int *returnedAlgoCount,
         *     cudnnConvolutionBwdFilterAlgoPerf_t *perfResults)
         */
        private final MethodHandle cudnnGetConvolutionBackwardFilterAlgorithm_v7;
        /**
         * cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
         *     const cudnnFilterDescriptor_t wDesc, const cudnnConvolutionDescriptor_t convDesc,
         *     const cudnnTensorDescriptor_t yDesc, cudnnConvolutionFwdAlgo_t algo, size_t *sizeInBytes)
         */
        private final MethodHandle cudnnGetConvolutionForwardWorkspaceSize;
        /**
         * cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
         *     const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,
         *     const cudnnTensorDescriptor_t dxDesc, cudnnConvolutionBwdDataAlgo_t algo, size_t *sizeInBytes)
         */
        private final MethodHandle cudnnGetConvolutionBackwardDataWorkspaceSize;
        /**
         * cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
         *     const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,
         *     const cudnnFilterDescriptor_t gradDesc, cudnnConvolutionBwdFilterAlgo_t algo, size_t *sizeInBytes)
         */
        private final MethodHandle cudnnGetConvolutionBackwardFilterWorkspaceSize;
        /**
         * cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc,
         *     const void *x, const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc,
         *     cudnnConvolutionFwdAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
         *     const cudnnTensorDescriptor_t yDesc, void *y)
         */
        private final MethodHandle cudnnConvolutionForward;
        /**
         * cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void *alpha, const cudnnFilterDescriptor_t wDesc,
         *     const void *w, const cudnnTensorDescriptor_t dyDesc, const void *dy, const cudnnConvolutionDescriptor_t convDesc,
         *     cudnnConvolutionBwdDataAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
         *     const cudnnTensorDescriptor_t dxDesc, void *dx)
         */
        private final MethodHandle cudnnConvolutionBackwardData;
        /**
         * cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc,
         *     const void *x, const cudnnTensorDescriptor_t dyDesc, const void *dy, const cudnnConvolutionDescriptor_t convDesc,
         *     cudnnConvolutionBwdFilterAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
         *     const cudnnFilterDescriptor_t dwDesc, void *dw)
         */
        private final MethodHandle cudnnConvolutionBackwardFilter;
        /**
         * cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
         *     const void *x, const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc,
         *     const cudnnTensorDescriptor_t yDesc, void *y, const int requestedAlgoCount, int *returnedAlgoCount,
         *     cudnnConvolutionFwdAlgoPerf_t *perfResults, void *workSpace, size_t workSpaceSizeInBytes)
         */
        private final MethodHandle cudnnFindConvolutionForwardAlgorithmEx;
        /**
         * cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
         *     const void *w, const cudnnTensorDescriptor_t dyDesc, const void *dy, const cudnnConvolutionDescriptor_t convDesc,
         *     const cudnnTensorDescriptor_t dxDesc, void *dx, const int requestedAlgoCount, int *returnedAlgoCount,
         *     cudnnConvolutionBwdDataAlgoPerf_t *perfResults, void *workSpace, size_t workSpaceSizeInBytes)
         */
        private final MethodHandle cudnnFindConvolutionBackwardDataAlgorithmEx;
        /**
         * cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
         *     const void *x, const cudnnTensorDescriptor_t dyDesc, const void *y, const cudnnConvolutionDescriptor_t convDesc,
         *     const cudnnFilterDescriptor_t dwDesc, void *dw, const int requestedAlgoCount, int *returnedAlgoCount,
         *     cudnnConvolutionBwdFilterAlgoPerf_t *perfResults, void *workSpace, size_t workSpaceSizeInBytes)
         */
        private final MethodHandle cudnnFindConvolutionBackwardFilterAlgorithmEx;

        Convolution(Symbols lib) {
            FunctionDescriptor algoV7 = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
            FunctionDescriptor wsSize = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
            FunctionDescriptor conv = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                    JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS);
            cudnnCreateFilterDescriptor = lib.function("cudnnCreateFilterDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            cudnnSetFilter4dDescriptor = lib.function("cudnnSetFilter4dDescriptor", FunctionDescriptor.of(JAVA_INT,
                    ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
            cudnnDestroyFilterDescriptor = lib.function("cudnnDestroyFilterDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            cudnnCreateConvolutionDescriptor = lib.function("cudnnCreateConvolutionDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            cudnnSetConvolution2dDescriptor = lib.function("cudnnSetConvolution2dDescriptor", FunctionDescriptor.of(JAVA_INT,
                    ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
            cudnnSetConvolutionGroupCount = lib.function("cudnnSetConvolutionGroupCount", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
            cudnnSetConvolutionMathType = lib.function("cudnnSetConvolutionMathType", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
            cudnnDestroyConvolutionDescriptor = lib.function("cudnnDestroyConvolutionDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            cudnnGetConvolutionForwardAlgorithm_v7 = lib.function("cudnnGetConvolutionForwardAlgorithm_v7", algoV7);
            cudnnGetConvolutionBackwardDataAlgorithm_v7 = lib.function("cudnnGetConvolutionBackwardDataAlgorithm_v7", algoV7);
            cudnnGetConvolutionBackwardFilterAlgorithm_v7 = lib.function("cudnnGetConvolutionBackwardFilterAlgorithm_v7", algoV7);
            cudnnGetConvolutionForwardWorkspaceSize = lib.function("cudnnGetConvolutionForwardWorkspaceSize", wsSize);
            cudnnGetConvolutionBackwardDataWorkspaceSize = lib.function("cudnnGetConvolutionBackwardDataWorkspaceSize", wsSize);
            cudnnGetConvolutionBackwardFilterWorkspaceSize = lib.function("cudnnGetConvolutionBackwardFilterWorkspaceSize", wsSize);
            cudnnConvolutionForward = lib.function("cudnnConvolutionForward", conv);
            cudnnConvolutionBackwardData = lib.function("cudnnConvolutionBackwardData", conv);
            cudnnConvolutionBackwardFilter = lib.function("cudnnConvolutionBackwardFilter", conv);
            FunctionDescriptor findEx = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                    ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
            cudnnFindConvolutionForwardAlgorithmEx = lib.function("cudnnFindConvolutionForwardAlgorithmEx", findEx);
            cudnnFindConvolutionBackwardDataAlgorithmEx = lib.function("cudnnFindConvolutionBackwardDataAlgorithmEx", findEx);
            cudnnFindConvolutionBackwardFilterAlgorithmEx = lib.function("cudnnFindConvolutionBackwardFilterAlgorithmEx", findEx);
        }
    }

    /** Training-mode spatial batch norm. */
    private static final class BatchNorm {
        /**
         * cudnnStatus_t cudnnDeriveBNTensorDescriptor(cudnnTensorDescriptor_t derivedBnDesc,
         *     const cudnnTensorDescriptor_t xDesc, cudnnBatchNormMode_t mode)
         */
        private final MethodHandle cudnnDeriveBNTensorDescriptor;
        /**
         * cudnnStatus_t cudnnBatchNormalizationForwardTraining(cudnnHandle_t handle, cudnnBatchNormMode_t mode,
         *     const void *alpha, const void *beta, const cudnnTensorDescriptor_t xDesc, const void *x,
         *     const cudnnTensorDescriptor_t yDesc, void *y, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc,
         *     const void *bnScale, const void *bnBias, double exponentialAverageFactor, void *resultRunningMean,
         *     void *resultRunningVariance, double epsilon, void *resultSaveMean, void *resultSaveInvVariance)
         */
        private final MethodHandle cudnnBatchNormalizationForwardTraining;
        /**
         * cudnnStatus_t cudnnBatchNormalizationBackward(cudnnHandle_t handle, cudnnBatchNormMode_t mode,
         *     const void *alphaDataDiff, const void *betaDataDiff, const void *alphaParamDiff, const void *betaParamDiff,
         *     const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t dyDesc, const void *dy,
         *     const cudnnTensorDescriptor_t dxDesc, void *dx, const cudnnTensorDescriptor_t dBnScaleBiasDesc,
         *     const void *bnScale, void *dBnScaleResult, void *dBnBiasResult, double epsilon,
         *     const void *savedMean, const void *savedInvVariance)
         */
        private final MethodHandle cudnnBatchNormalizationBackward;

        BatchNorm(Symbols lib) {
            cudnnDeriveBNTensorDescriptor = lib.function("cudnnDeriveBNTensorDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
            cudnnBatchNormalizationForwardTraining = lib.function("cudnnBatchNormalizationForwardTraining", FunctionDescriptor.of(JAVA_INT,
                    ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                    JAVA_DOUBLE, ADDRESS, ADDRESS, JAVA_DOUBLE, ADDRESS, ADDRESS));
            cudnnBatchNormalizationBackward = lib.function("cudnnBatchNormalizationBackward", FunctionDescriptor.of(JAVA_INT,
                    ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                    ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_DOUBLE, ADDRESS, ADDRESS));
        }
    }

    private final Feature<ErrorText> errorText;
    private final Feature<Descriptors> descriptors;
    private final Feature<Convolution> convolution;
    private final Feature<BatchNorm> batchNorm;

    /**
     * Binds the handle functions now (without them nothing works); every feature's functions are
     * bound on first use ({@link Feature}), so a cuDNN without, say, the batch-norm entry points still
     * runs convolutions, and says which feature it lacks.
     */
    private Cudnn(Symbols lib, Supplier<String> context) {
        this.lib = lib;
        this.context = context;
        cudnnGetVersion = lib.function("cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG));
        cudnnCreate = lib.function("cudnnCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cudnnDestroy = lib.function("cudnnDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cudnnSetStream = lib.function("cudnnSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        errorText = new Feature<>("cuDNN", "error texts", () -> new ErrorText(lib));
        descriptors = new Feature<>("cuDNN", "tensor descriptors", () -> new Descriptors(lib));
        convolution = new Feature<>("cuDNN", "convolution", () -> new Convolution(lib));
        batchNorm = new Feature<>("cuDNN", "batch norm", () -> new BatchNorm(lib));
        one = Arena.global().allocateFrom(JAVA_FLOAT, 1f);
        zero = Arena.global().allocateFrom(JAVA_FLOAT, 0f);
    }

    /** The lazily bound features, for {@code dvp doctor} and the tests. */
    public List<Feature<?>> features() { return List.of(descriptors, convolution, batchNorm, errorText); }

    /** Whether batch norm can run through cuDNN (its functions and the tensor descriptors are there). */
    public boolean batchNormAvailable() { return descriptors.available() && batchNorm.available(); }

    /** Finds libcudnn.so.9; see {@link NativeLibrary#open} for where and the override. */
    public static NativeLibrary locate() {
        return NativeLibrary.open("cuDNN 9", List.of("libcudnn.so.9"), "libcudnn.so.", "dvp.cudnn.path", "DVP_CUDNN",
                List.of("nvidia/cudnn/lib", "nvidia/cu13/lib"),
                List.of("libcudnn_graph.so.9", "libcudnn_engines_precompiled.so.9", "libcudnn_engines_runtime_compiled.so.9",
                        "libcudnn_heuristic.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9", "libcudnn_adv.so.9"),
                "e.g. pip install nvidia-cudnn-cu13 (or -cu12 to match the driver's CUDA major)");
    }

    /** Binds the handle functions, checks the version is 9.x and creates a handle on {@code stream}. */
    public static Cudnn create(NativeLibrary lib, long stream, Supplier<String> context) {
        return create(Symbols.of(lib), stream, context);
    }

    /** {@link #create(NativeLibrary, long, Supplier)} from any {@link Symbols}. */
    public static Cudnn create(Symbols lib, long stream, Supplier<String> context) {
        Cudnn d = new Cudnn(lib, context);
        long v = d.version();
        if (v / 10000 != 9)
            throw new NativeLibrary.LibraryNotFoundException("cuDNN loaded from " + lib.loadedFrom() + " reports version " + v
                    + "; dvp needs cuDNN 9.x");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = a.allocate(ADDRESS);
            d.call("cudnnCreate", () -> (int) d.cudnnCreate.invokeExact(h));
            d.handle = h.get(ADDRESS, 0);
        }
        d.call("cudnnSetStream", () -> (int) d.cudnnSetStream.invokeExact(d.handle, MemorySegment.ofAddress(stream)));
        return d;
    }

    public String loadedFrom() { return lib.loadedFrom(); }

    /** Binds the handle functions without creating a handle (no GPU needed): for reporting the version. */
    public static Cudnn unbound(NativeLibrary lib) { return new Cudnn(Symbols.of(lib), () -> ""); }

    /** "9.10.2" from {@link #version()}. */
    public String versionString() {
        long v = version();
        return v / 10000 + "." + (v % 10000) / 100 + "." + v % 100;
    }

    /** CUDNN_VERSION of the loaded library: major*10000 + minor*100 + patch (9.x). */
    public long version() {
        try {
            return (long) cudnnGetVersion.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("cudnnGetVersion: " + t, t);
        }
    }

    // ---- descriptors (an opaque pointer each; created once per shape and cached by the caller) ---------

    /** A 4-D tensor descriptor [n, c, h, w] of the given data type and format. */
    public MemorySegment tensor4d(int format, int dataType, int n, int c, int h, int w) {
        MemorySegment d = create("cudnnCreateTensorDescriptor", descriptors.get().cudnnCreateTensorDescriptor);
        call("cudnnSetTensor4dDescriptor", () -> (int) descriptors.get().cudnnSetTensor4dDescriptor.invokeExact(d, format, dataType, n, c, h, w));
        return d;
    }

    /** The per-channel [1, C, 1, 1] descriptor batch norm uses for scale/bias/mean/var. */
    public MemorySegment bnParamDescriptor(MemorySegment xDesc) {
        MemorySegment d = create("cudnnCreateTensorDescriptor", descriptors.get().cudnnCreateTensorDescriptor);
        call("cudnnDeriveBNTensorDescriptor", () -> (int) batchNorm.get().cudnnDeriveBNTensorDescriptor.invokeExact(d, xDesc, BATCHNORM_SPATIAL));
        return d;
    }

    /** Filter [k, c, h, w] = [C_out, C_in/groups, kh, kw]. */
    public MemorySegment filter4d(int dataType, int format, int k, int c, int h, int w) {
        MemorySegment d = create("cudnnCreateFilterDescriptor", convolution.get().cudnnCreateFilterDescriptor);
        call("cudnnSetFilter4dDescriptor", () -> (int) convolution.get().cudnnSetFilter4dDescriptor.invokeExact(d, dataType, format, k, c, h, w));
        return d;
    }

    /** A cross-correlation, dilation 1, with groups and the given math type (FMA_MATH for exact fp32). */
    public MemorySegment convolution2d(int padH, int padW, int strideH, int strideW, int computeType, int groups, int mathType) {
        MemorySegment d = create("cudnnCreateConvolutionDescriptor", convolution.get().cudnnCreateConvolutionDescriptor);
        call("cudnnSetConvolution2dDescriptor", () -> (int) convolution.get().cudnnSetConvolution2dDescriptor.invokeExact(d, padH, padW, strideH, strideW,
                1, 1, CROSS_CORRELATION, computeType));
        call("cudnnSetConvolutionGroupCount", () -> (int) convolution.get().cudnnSetConvolutionGroupCount.invokeExact(d, groups));
        call("cudnnSetConvolutionMathType", () -> (int) convolution.get().cudnnSetConvolutionMathType.invokeExact(d, mathType));
        return d;
    }

    public void destroyTensor(MemorySegment d) { call("cudnnDestroyTensorDescriptor", () -> (int) descriptors.get().cudnnDestroyTensorDescriptor.invokeExact(d)); }

    public void destroyFilter(MemorySegment d) { call("cudnnDestroyFilterDescriptor", () -> (int) convolution.get().cudnnDestroyFilterDescriptor.invokeExact(d)); }

    public void destroyConvolution(MemorySegment d) { call("cudnnDestroyConvolutionDescriptor", () -> (int) convolution.get().cudnnDestroyConvolutionDescriptor.invokeExact(d)); }

    private MemorySegment create(String name, MethodHandle mh) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            call(name, () -> (int) mh.invokeExact(p));
            return p.get(ADDRESS, 0);
        }
    }

    // ---- algorithm choice ---------------------------------------------------------------------------

    /** What the heuristics chose: the algorithm and its workspace in bytes. */
    public record Algo(int algo, long workspace, boolean deterministic) {}

    public enum Direction { FORWARD, BACKWARD_DATA, BACKWARD_FILTER }

    /**
     * One cudnnConvolution*AlgoPerf_t record ({@link #ALGO_PERF}). {@code timeMs} is what cuDNN
     * measured (Find) or -1 (heuristics, or an algorithm that did not run); in simulation it is a
     * modelled figure that only orders the list, never a speed.
     */
    public record AlgoPerf(int algo, int status, float timeMs, long memory, boolean deterministic, int mathType) {
        public boolean succeeded() { return status == 0; }

        @Override
        public String toString() {
            return "algo " + algo + "(status " + status + ", " + timeMs + " ms, " + memory + " B, "
                    + (deterministic ? "deterministic" : "non-deterministic") + ", math " + mathType + ")";
        }
    }

    /** Records [0, n) of a perf-record array, in the library's order. */
    static List<AlgoPerf> records(MemorySegment perf, int n) {
        List<AlgoPerf> out = new java.util.ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            MemorySegment r = perf.asSlice(i * ALGO_PERF.byteSize(), ALGO_PERF.byteSize());
            out.add(new AlgoPerf(r.get(JAVA_INT, ALGO_PERF.byteOffset(MemoryLayout.PathElement.groupElement("algo"))),
                    r.get(JAVA_INT, ALGO_PERF.byteOffset(MemoryLayout.PathElement.groupElement("status"))),
                    r.get(JAVA_FLOAT, ALGO_PERF.byteOffset(MemoryLayout.PathElement.groupElement("time"))),
                    r.get(JAVA_LONG, ALGO_PERF.byteOffset(MemoryLayout.PathElement.groupElement("memory"))),
                    r.get(JAVA_INT, ALGO_PERF.byteOffset(MemoryLayout.PathElement.groupElement("determinism"))) == DETERMINISTIC,
                    r.get(JAVA_INT, ALGO_PERF.byteOffset(MemoryLayout.PathElement.groupElement("mathType")))));
        }
        return out;
    }

    /** Enough records for every algorithm of any direction (CUDNN_CONVOLUTION_FWD_ALGO_COUNT is the largest, 8). */
    private static final int REQUESTED = 8;

    /**
     * cuDNN's heuristics (the _v7 queries: no benchmarking, no allocation, legal during a CUDA graph
     * capture) for one direction, ranked. Descriptors in argument order of that direction's
     * cudnnConvolution* call: FORWARD (x, w, y), BACKWARD_DATA (w, dy, dx), BACKWARD_FILTER (x, dy, dw).
     */
    public List<AlgoPerf> heuristics(Direction dir, MemorySegment d0, MemorySegment d1, MemorySegment conv, MemorySegment d2) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment count = a.allocate(JAVA_INT);
            MemorySegment perf = a.allocate(ALGO_PERF, REQUESTED);
            Convolution cv = convolution.get();
            switch (dir) {
                case FORWARD -> call("cudnnGetConvolutionForwardAlgorithm_v7",
                        () -> (int) cv.cudnnGetConvolutionForwardAlgorithm_v7.invokeExact(handle, d0, d1, conv, d2, REQUESTED, count, perf));
                case BACKWARD_DATA -> call("cudnnGetConvolutionBackwardDataAlgorithm_v7",
                        () -> (int) cv.cudnnGetConvolutionBackwardDataAlgorithm_v7.invokeExact(handle, d0, d1, conv, d2, REQUESTED, count, perf));
                case BACKWARD_FILTER -> call("cudnnGetConvolutionBackwardFilterAlgorithm_v7",
                        () -> (int) cv.cudnnGetConvolutionBackwardFilterAlgorithm_v7.invokeExact(handle, d0, d1, conv, d2, REQUESTED, count, perf));
            }
            return records(perf, count.get(JAVA_INT, 0));
        }
    }

    /**
     * cudnnFind*AlgorithmEx: runs every algorithm of one direction on the given device buffers
     * ({@code p0, p1} the inputs, {@code p2} the output, which is overwritten) with the given
     * workspace and returns the records sorted by measured time, successful ones first. It
     * synchronises the handle's stream, so it must never be called during a CUDA graph capture.
     * Descriptors and buffers in the order of that direction's cudnnConvolution* call (see
     * {@link #heuristics}).
     */
    public List<AlgoPerf> find(Direction dir, MemorySegment d0, long p0, MemorySegment d1, long p1, MemorySegment conv,
                               MemorySegment d2, long p2, long ws, long wsBytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment count = a.allocate(JAVA_INT);
            MemorySegment perf = a.allocate(ALGO_PERF, REQUESTED);
            MemorySegment x0 = MemorySegment.ofAddress(p0), x1 = MemorySegment.ofAddress(p1), out = MemorySegment.ofAddress(p2),
                    w = MemorySegment.ofAddress(ws);
            Convolution cv = convolution.get();
            switch (dir) {
                case FORWARD -> call("cudnnFindConvolutionForwardAlgorithmEx", () -> (int) cv.cudnnFindConvolutionForwardAlgorithmEx
                        .invokeExact(handle, d0, x0, d1, x1, conv, d2, out, REQUESTED, count, perf, w, wsBytes));
                case BACKWARD_DATA -> call("cudnnFindConvolutionBackwardDataAlgorithmEx", () -> (int) cv.cudnnFindConvolutionBackwardDataAlgorithmEx
                        .invokeExact(handle, d0, x0, d1, x1, conv, d2, out, REQUESTED, count, perf, w, wsBytes));
                case BACKWARD_FILTER -> call("cudnnFindConvolutionBackwardFilterAlgorithmEx", () -> (int) cv.cudnnFindConvolutionBackwardFilterAlgorithmEx
                        .invokeExact(handle, d0, x0, d1, x1, conv, d2, out, REQUESTED, count, perf, w, wsBytes));
            }
            return records(perf, count.get(JAVA_INT, 0));
        }
    }

    /** {@link #chooseAlgorithm(Direction, MemorySegment, MemorySegment, MemorySegment, MemorySegment, long, boolean)}, deterministic only. */
    public Algo chooseAlgorithm(Direction dir, MemorySegment d0, MemorySegment d1, MemorySegment conv, MemorySegment d2, long maxWorkspace) {
        return chooseAlgorithm(dir, d0, d1, conv, d2, maxWorkspace, true);
    }

    /**
     * The heuristics' first algorithm that succeeded, fits {@code maxWorkspace} and, with
     * {@code deterministicOnly}, is deterministic (backward-data 0 and backward-filter 0 and 3 are
     * not). Throws naming the query and every record seen when none qualifies.
     */
    public Algo chooseAlgorithm(Direction dir, MemorySegment d0, MemorySegment d1, MemorySegment conv, MemorySegment d2, long maxWorkspace,
                                boolean deterministicOnly) {
        List<AlgoPerf> ranked = heuristics(dir, d0, d1, conv, d2);
        for (AlgoPerf p : ranked) {
            if (!p.succeeded() || (deterministicOnly && !p.deterministic()) || p.memory() > maxWorkspace) continue;
            long ws = workspaceSize(dir, d0, d1, conv, d2, p.algo());
            if (ws <= maxWorkspace) return new Algo(p.algo(), ws, p.deterministic());
        }
        throw new LibraryCallException("cuDNN", heuristicsName(dir), -1, "no " + (deterministicOnly ? "deterministic " : "")
                + "algorithm within " + maxWorkspace + " bytes of workspace among " + ranked, context.get());
    }

    /** The _v7 query of a direction, for messages. */
    public static String heuristicsName(Direction dir) {
        return switch (dir) {
            case FORWARD -> "cudnnGetConvolutionForwardAlgorithm_v7";
            case BACKWARD_DATA -> "cudnnGetConvolutionBackwardDataAlgorithm_v7";
            case BACKWARD_FILTER -> "cudnnGetConvolutionBackwardFilterAlgorithm_v7";
        };
    }

    /** The Find query of a direction, for messages. */
    public static String findName(Direction dir) {
        return switch (dir) {
            case FORWARD -> "cudnnFindConvolutionForwardAlgorithmEx";
            case BACKWARD_DATA -> "cudnnFindConvolutionBackwardDataAlgorithmEx";
            case BACKWARD_FILTER -> "cudnnFindConvolutionBackwardFilterAlgorithmEx";
        };
    }

    /** cudnnGetConvolution*WorkspaceSize: the bytes {@code algo} needs for this problem (descriptors as in {@link #heuristics}). */
    public long workspaceSize(Direction dir, MemorySegment d0, MemorySegment d1, MemorySegment conv, MemorySegment d2, int algo) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment size = a.allocate(JAVA_LONG);
            switch (dir) {
                case FORWARD -> call("cudnnGetConvolutionForwardWorkspaceSize",
                        () -> (int) convolution.get().cudnnGetConvolutionForwardWorkspaceSize.invokeExact(handle, d0, d1, conv, d2, algo, size));
                case BACKWARD_DATA -> call("cudnnGetConvolutionBackwardDataWorkspaceSize",
                        () -> (int) convolution.get().cudnnGetConvolutionBackwardDataWorkspaceSize.invokeExact(handle, d0, d1, conv, d2, algo, size));
                case BACKWARD_FILTER -> call("cudnnGetConvolutionBackwardFilterWorkspaceSize",
                        () -> (int) convolution.get().cudnnGetConvolutionBackwardFilterWorkspaceSize.invokeExact(handle, d0, d1, conv, d2, algo, size));
            }
            return size.get(JAVA_LONG, 0);
        }
    }

    // ---- execution (alpha = 1, beta = 0: outputs are overwritten) ----------------------------------

    /** y = conv(x, w). */
    public void convolutionForward(MemorySegment xDesc, long x, MemorySegment wDesc, long w, MemorySegment conv, int algo,
                                   long ws, long wsBytes, MemorySegment yDesc, long y) {
        call("cudnnConvolutionForward", () -> (int) convolution.get().cudnnConvolutionForward.invokeExact(handle, one, xDesc, MemorySegment.ofAddress(x),
                wDesc, MemorySegment.ofAddress(w), conv, algo, MemorySegment.ofAddress(ws), wsBytes, zero, yDesc, MemorySegment.ofAddress(y)));
    }

    /** dx = conv_transpose(dy, w). */
    public void convolutionBackwardData(MemorySegment wDesc, long w, MemorySegment dyDesc, long dy, MemorySegment conv, int algo,
                                        long ws, long wsBytes, MemorySegment dxDesc, long dx) {
        call("cudnnConvolutionBackwardData", () -> (int) convolution.get().cudnnConvolutionBackwardData.invokeExact(handle, one, wDesc, MemorySegment.ofAddress(w),
                dyDesc, MemorySegment.ofAddress(dy), conv, algo, MemorySegment.ofAddress(ws), wsBytes, zero, dxDesc, MemorySegment.ofAddress(dx)));
    }

    /** dw = weight gradient of conv(x, .) for dy. */
    public void convolutionBackwardFilter(MemorySegment xDesc, long x, MemorySegment dyDesc, long dy, MemorySegment conv, int algo,
                                          long ws, long wsBytes, MemorySegment dwDesc, long dw) {
        call("cudnnConvolutionBackwardFilter", () -> (int) convolution.get().cudnnConvolutionBackwardFilter.invokeExact(handle, one, xDesc, MemorySegment.ofAddress(x),
                dyDesc, MemorySegment.ofAddress(dy), conv, algo, MemorySegment.ofAddress(ws), wsBytes, zero, dwDesc, MemorySegment.ofAddress(dw)));
    }

    /**
     * Spatial batch norm, training mode. runningMean/runningVar may both be 0 (not updated); cuDNN
     * updates the running variance with the unbiased estimate and saves 1/sqrt(var + eps), matching
     * dvp's contract.
     */
    public void batchNormForwardTraining(MemorySegment xDesc, long x, long y, MemorySegment bnDesc, long gamma, long beta,
                                         double momentum, long runningMean, long runningVar, double eps, long saveMean, long saveInvStd) {
        call("cudnnBatchNormalizationForwardTraining", () -> (int) batchNorm.get().cudnnBatchNormalizationForwardTraining.invokeExact(handle, BATCHNORM_SPATIAL,
                one, zero, xDesc, MemorySegment.ofAddress(x), xDesc, MemorySegment.ofAddress(y), bnDesc,
                MemorySegment.ofAddress(gamma), MemorySegment.ofAddress(beta), momentum,
                MemorySegment.ofAddress(runningMean), MemorySegment.ofAddress(runningVar), eps,
                MemorySegment.ofAddress(saveMean), MemorySegment.ofAddress(saveInvStd)));
    }

    /** Backward of training-mode batch norm; dgamma/dbeta are overwritten (beta = 0). */
    public void batchNormBackward(MemorySegment xDesc, long x, long dy, long dx, MemorySegment bnDesc, long gamma, long dgamma,
                                  long dbeta, double eps, long saveMean, long saveInvStd) {
        call("cudnnBatchNormalizationBackward", () -> (int) batchNorm.get().cudnnBatchNormalizationBackward.invokeExact(handle, BATCHNORM_SPATIAL,
                one, zero, one, zero, xDesc, MemorySegment.ofAddress(x), xDesc, MemorySegment.ofAddress(dy), xDesc,
                MemorySegment.ofAddress(dx), bnDesc, MemorySegment.ofAddress(gamma), MemorySegment.ofAddress(dgamma),
                MemorySegment.ofAddress(dbeta), eps, MemorySegment.ofAddress(saveMean), MemorySegment.ofAddress(saveInvStd)));
    }

    public void destroy() {
        if (handle.equals(MemorySegment.NULL)) return;
        MemorySegment h = handle;
        handle = MemorySegment.NULL;
        call("cudnnDestroy", () -> (int) cudnnDestroy.invokeExact(h));
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
        if (status == 0) return;
        String text = "status " + status;
        if (errorText.available()) {
            try {
                MemorySegment s = (MemorySegment) errorText.get().cudnnGetErrorString.invokeExact(status);
                text = s.reinterpret(256).getString(0);
            } catch (Throwable t) {
                // keep the number
            }
        }
        throw new LibraryCallException("cuDNN", name, status, text, context.get());
    }
}
