package dvp.engine.cuda;

import dvp.engine.cuda.ffm.Cublas;
import dvp.engine.cuda.ffm.Cudnn;
import dvp.engine.ffm.NativeLibrary;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleGetGlobal;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

/**
 * The CUDA runtime of one device on JCuda's driver API: the device's primary context (the one
 * cuBLAS and cuDNN use too), one non-blocking stream on which everything is queued in order, the
 * caching allocator, pinned staging buffers for host transfers, the kernel image, and the cuBLAS
 * and cuDNN handles bound to the stream.
 *
 * <p>Every CUresult is checked; a failure becomes a {@link CudaException} naming the driver call,
 * the dvp op (set by the backend at the start of each primitive) and the kernel being launched.
 * Kernels run asynchronously, so a fault inside one surfaces at the next synchronisation; run with
 * {@code -Ddvp.cuda.sync=true} (or {@code DVP_CUDA_SYNC=1}) to synchronise after every op and
 * get the exact op.
 *
 * <p>UNVERIFIED on a GPU: this class has been compiled, and its failure paths run, only on a
 * machine without a CUDA driver.
 */
public final class CudaContext {
    /** cuBLAS workspace: fixed so GEMMs can be captured into CUDA graphs (32 MiB, llm.c's Hopper value). */
    static final long BLAS_WORKSPACE = 32L << 20;

    private static CudaContext instance;
    private static RuntimeException failure;

    final int ordinal;
    final CUdevice device = new CUdevice();
    final CUcontext context = new CUcontext();
    final StreamHandle stream = new StreamHandle();
    final String name;
    final int ccMajor, ccMinor, smCount, driverVersion;
    final long totalMemory;
    final CachingAllocator allocator;
    final PinnedStaging staging;
    final CUmodule module = new CUmodule();
    final int kernelsToolkitVersion;
    /** The device is the CUDA simulator (kernels/sim), not a GPU: results are checked, speeds mean nothing. */
    final boolean simulated;
    final Cublas blas;
    final Cudnn dnn;
    private final Map<String, CudaKernel> kernels = new ConcurrentHashMap<>();
    private final CachingAllocator.Block errorWord, blasWorkspace;
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);

    /** Synchronise after every op, so an asynchronous fault is reported at the op that caused it. */
    final boolean syncEachOp = flag("dvp.cuda.sync", "DVP_CUDA_SYNC", false);
    /**
     * TF32 tensor cores for fp32 GEMM/conv (PyTorch: allow_tf32; {@code --precision tf32}). Off by
     * default: fp32 stays fp32. -Ddvp.cuda.tf32 / DVP_CUDA_TF32 set the start value (kept as an alias).
     */
    volatile boolean tf32 = flag("dvp.cuda.tf32", "DVP_CUDA_TF32", false);
    /**
     * Deterministic algorithms only ({@code --deterministic}; PyTorch's use_deterministic_algorithms +
     * cudnn.deterministic). On by default, unlike PyTorch: DESIGN.md promises GPU results that repeat
     * bit for bit unless a documented fast mode is chosen, and {@code --no-deterministic} is that mode
     * (convolutions may then use cuDNN's atomics-based, run-to-run varying algorithms when autotuning
     * finds them fastest).
     */
    volatile boolean deterministic = flag("dvp.cuda.deterministic", "DVP_CUDA_DETERMINISTIC", true);
    /**
     * Autotuned convolution algorithms (PyTorch's cudnn.benchmark; {@link CudaConvAlgorithms}). On by
     * default, unlike PyTorch: dvp is for speed, and the one-off cost per shape is paid in the first
     * step. Off: cuDNN's _v7 heuristics decide.
     */
    volatile boolean cudnnBenchmark = flag("dvp.cuda.cudnnBenchmark", "DVP_CUDA_CUDNN_BENCHMARK", true);
    /** cuDNN's batch norm when eps allows it; false = dvp's own deterministic kernels always (CudaBackend.setCudnnBatchNorm). */
    volatile boolean cudnnBatchNorm = flag("dvp.cuda.cudnnBatchNorm", "DVP_CUDA_CUDNN_BN", true);

    private volatile String op = "-", kernel = "-";
    /** True while a CUDA graph capture is active on the stream (host transfers are refused then). */
    volatile boolean capturing;
    /** The reusable cuDNN workspace (grown on demand, never shrunk). */
    private CachingAllocator.Block workspace;

    static boolean flag(String property, String env, boolean dflt) {
        String v = System.getProperty(property);
        if (v == null) v = System.getenv(env);
        if (v == null || v.isBlank()) return dflt;
        return v.equals("1") || v.equalsIgnoreCase("true") || v.equalsIgnoreCase("yes");
    }

    /** The context of the device chosen by -Ddvp.cuda.device / DVP_CUDA_DEVICE (default 0), created once. */
    static synchronized CudaContext get() {
        if (instance != null) return instance;
        if (failure != null) throw failure;
        try {
            instance = new CudaContext(deviceOrdinal());
            return instance;
        } catch (RuntimeException e) {
            failure = e;
            throw e;
        } catch (LinkageError e) {
            failure = new IllegalStateException("JCuda's native binding failed: " + e, e);
            throw failure;
        }
    }

    static int deviceOrdinal() {
        String v = System.getProperty("dvp.cuda.device");
        if (v == null) v = System.getenv("DVP_CUDA_DEVICE");
        if (v == null || v.isBlank()) return 0;
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("dvp.cuda.device / DVP_CUDA_DEVICE must be a device index, got '" + v + "'");
        }
    }

    private CudaContext(int ordinal) {
        CudaDriver.Probe p = CudaDriver.probe();
        if (!p.ok()) throw new IllegalStateException(p.reason());
        simulated = CudaSimulator.loaded();
        if (ordinal < 0 || ordinal >= p.deviceCount())
            throw new IllegalStateException("CUDA device " + ordinal + " requested but " + p.deviceCount() + " visible");
        this.ordinal = ordinal;
        this.driverVersion = p.driverVersion();
        check(cuDeviceGet(device, ordinal), "cuDeviceGet");
        byte[] nb = new byte[256];
        check(cuDeviceGetName(nb, nb.length, device), "cuDeviceGetName");
        int len = 0;
        while (len < nb.length && nb[len] != 0) len++;
        name = new String(nb, 0, len, StandardCharsets.UTF_8);
        ccMajor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        ccMinor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        smCount = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        long[] tm = new long[1];
        check(cuDeviceTotalMem(tm, device), "cuDeviceTotalMem");
        totalMemory = tm[0];
        // The primary context (no cuCtxCreate, whose signature changed in CUDA 13's headers) is
        // the one the CUDA runtime inside cuBLAS/cuDNN binds to as well.
        check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        makeCurrent();
        check(cuStreamCreate(stream, 1 /* CU_STREAM_NON_BLOCKING */), "cuStreamCreate");
        allocator = new CachingAllocator(new DriverMemory());
        staging = new PinnedStaging(this);

        kernel = "(loading the image)";
        byte[] image = KernelImage.load();
        int r = cuModuleLoadData(module, image);
        if (r != CUresult.CUDA_SUCCESS) throw moduleLoadError(r);
        kernelsToolkitVersion = readModuleInt("dvp_kernels_cuda_version");
        kernel = "-";

        errorWord = allocator.allocate(8, "device error word");
        check(cuMemsetD32Async(new DevicePointer(errorWord.address), 0, 2, stream), "cuMemsetD32Async");
        blasWorkspace = allocator.allocate(BLAS_WORKSPACE, "cuBLAS workspace");

        // the simulated driver comes with its own cuBLAS/cuDNN: never mix it with real libraries
        NativeLibrary cublasLib = simulated ? CudaSimulator.library("cuBLAS", "libcublas.so.13") : Cublas.locate();
        blas = Cublas.create(cublasLib, stream.address(), blasWorkspace.address, BLAS_WORKSPACE, this::where);
        NativeLibrary cudnnLib = simulated ? CudaSimulator.library("cuDNN", "libcudnn.so.9") : Cudnn.locate();
        dnn = Cudnn.create(cudnnLib, stream.address(), this::where);
        synchronize();
    }

    private int attribute(int attr) {
        int[] v = new int[1];
        check(cuDeviceGetAttribute(v, attr, device), "cuDeviceGetAttribute");
        return v[0];
    }

    private int readModuleInt(String global) {
        DevicePointer p = new DevicePointer();
        long[] size = new long[1];
        check(cuModuleGetGlobal(p, size, module, global), "cuModuleGetGlobal(" + global + ")");
        int[] v = new int[1];
        check(cuMemcpyDtoH(Pointer.to(v), p, 4), "cuMemcpyDtoH");
        return v[0];
    }

    private CudaException moduleLoadError(int r) {
        KernelImage.Info info = KernelImage.info();
        String detail = switch (r) {
            case CudaErrors.UNSUPPORTED_PTX_VERSION -> "the kernel image was compiled by CUDA toolkit " + info.toolkit()
                    + " but this driver supports CUDA " + CudaDriver.version(driverVersion)
                    + ": its PTX is too new for the driver. Update the NVIDIA driver, or rebuild kernels/ with an nvcc no newer than the driver";
            case CudaErrors.NO_BINARY_FOR_GPU -> "the image holds " + info.archs() + " code but this GPU (" + name + ") is sm_" + ccMajor + ccMinor
                    + "; dvp's kernels need compute capability 8.0 or newer";
            default -> "image " + info.describe();
        };
        return CudaErrors.error(r, "cuModuleLoadData", "loading the kernel image", "-", detail);
    }

    /** Binds the context to the calling thread (once per thread). */
    void makeCurrent() {
        if (!current.get()) {
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            current.set(true);
        }
    }

    /** Records the op now running, for error messages; binds the context to this thread. */
    void enter(String opName) {
        makeCurrent();
        op = opName;
        kernel = "-";
        java.util.List<String> log = captureLog;
        if (log != null && capturing) log.add(opName);
    }

    /** The ops entered while a graph is being captured (what a replay runs), or null outside captures. */
    volatile java.util.List<String> captureLog;

    /** After an op: in sync-debug mode, wait for it and report any fault as this op's. */
    void exit() {
        if (syncEachOp && !capturing) synchronize();
    }

    String where() { return " (op " + op + ", kernel " + kernel + ")"; }

    void check(int result, String call) {
        if (result != CUresult.CUDA_SUCCESS) throw CudaErrors.error(result, call, op, kernel, null, syncEachOp);
    }

    CudaKernel kernel(String kernelName) {
        return kernels.computeIfAbsent(kernelName, n -> {
            CUfunction f = new CUfunction();
            int r = cuModuleGetFunction(f, module, n);
            if (r != CUresult.CUDA_SUCCESS)
                throw CudaErrors.error(r, "cuModuleGetFunction", op, n, "kernel '" + n + "' is not in the image ("
                        + KernelImage.info().describe() + "); rebuild kernels/");
            return new CudaKernel(n, f);
        });
    }

    /** Grid size for a grid-stride loop over n elements with {@code block} threads (at least 1). */
    int grid(long n, int block) {
        long g = (n + block - 1) / block;
        return (int) Math.max(1, Math.min(g, (long) smCount * 32));
    }

    /** The one launch helper: queues {@code k} on the stream; checks the launch result. */
    void launch(String kernelName, int gridX, int gridY, int block, int sharedBytes, KernelArgs args) {
        CudaKernel k = kernel(kernelName);
        kernel = kernelName;
        check(cuLaunchKernel(k.function(), gridX, gridY, 1, block, 1, 1, sharedBytes, stream, args.build(), null), "cuLaunchKernel");
    }

    /** Grid-stride launch over n elements (nothing is launched for n = 0). */
    void launch1d(String kernelName, long n, KernelArgs args) {
        if (n == 0) return;
        launch(kernelName, grid(n, 256), 1, 256, 0, args);
    }

    /** Waits for the stream, then reports any error a kernel wrote into the device error word. */
    void synchronize() {
        makeCurrent();
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
        int[] err = new int[2];
        check(cuMemcpyDtoH(Pointer.to(err), new DevicePointer(errorWord.address), 8), "cuMemcpyDtoH(error word)");
        if (err[0] != 0) {
            check(cuMemsetD32Async(new DevicePointer(errorWord.address), 0, 2, stream), "cuMemsetD32Async");
            check(cuStreamSynchronize(stream), "cuStreamSynchronize");
            throw new IllegalArgumentException(DeviceErrors.describe(err[0], err[1]) + " (reported by a kernel before the sync after op " + op + ")");
        }
    }

    long errorWordAddress() { return errorWord.address; }

    /**
     * A device workspace of at least {@code bytes}, shared by all cuDNN calls. Growing frees the old
     * block first: queued work that uses it still runs before whatever reuses it (single stream).
     */
    long workspace(long bytes) {
        if (bytes == 0) return 0;
        if (workspace == null || workspace.size < bytes) {
            if (workspace != null) allocator.free(workspace);
            workspace = allocator.allocate(bytes, "cuDNN workspace");
        }
        allocator.usedDuringCapture(workspace);
        return workspace.address;
    }

    /** Bytes of the current cuDNN workspace block (0 before the first convolution that needs one). */
    long workspaceBytes() { return workspace == null ? 0 : workspace.size; }

    /** A temporary device buffer for one op's partial results; free it right after queueing its users. */
    CachingAllocator.Block scratch(long bytes) { return allocator.allocate(bytes, "scratch"); }

    long[] memInfo() {
        long[] free = new long[1], total = new long[1];
        check(cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[]{free[0], total[0]};
    }

    /** Adapts the allocator to cuMemAlloc/cuMemFree on this context. */
    private final class DriverMemory implements CachingAllocator.Device {
        @Override
        public long malloc(long bytes) {
            makeCurrent();
            DevicePointer p = new DevicePointer();
            int r = cuMemAlloc(p, bytes);
            if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY) return 0;
            check(r, "cuMemAlloc(" + bytes + ")");
            return p.address();
        }

        @Override
        public void free(long address) {
            makeCurrent();
            check(cuMemFree(new DevicePointer(address)), "cuMemFree");
        }

        @Override
        public void synchronize() {
            makeCurrent();
            check(cuStreamSynchronize(stream), "cuStreamSynchronize");
        }

        @Override
        public long[] memInfo() { return CudaContext.this.memInfo(); }
    }

    /** For doctor: what the driver says about itself and the device. */
    String describe() {
        return (simulated ? "SIMULATED device (not a GPU): " : "") + name + " (sm_" + ccMajor + ccMinor + ", " + smCount + " SMs, " + CachingAllocator.fmt(totalMemory) + "), driver CUDA "
                + CudaDriver.version(driverVersion) + ", JCuda " + jcudaVersion() + ", kernels built by CUDA "
                + CudaDriver.version(kernelsToolkitVersion) + ", cuBLAS " + blas.version() + " (" + blas.loadedFrom() + "), cuDNN "
                + dnn.version() + " (" + dnn.loadedFrom() + ")";
    }

    /** JCuda's own version constant (a package's manifest version is the fat jar's, not JCuda's). */
    static String jcudaVersion() { return jcuda.JCudaVersion.get(); }
}
