package dvp.engine.cuda;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;

/**
 * The first steps of deciding whether CUDA can run here, each with its own reason: is the NVIDIA
 * driver library there, does JCuda's JNI binding load on it, does cuInit succeed, is a device
 * visible. Later steps (context, kernel image, cuBLAS, cuDNN) are in {@link CudaContext#create}.
 */
final class CudaDriver {
    private CudaDriver() {}

    /** The outcome of the probe; {@code reason} says what was looked for when {@code ok} is false. */
    record Probe(boolean ok, String reason, int driverVersion, int deviceCount) {}

    private static Probe probe;

    static synchronized Probe probe() {
        if (probe == null) probe = doProbe();
        return probe;
    }

    private static Probe doProbe() {
        // 1. the driver library itself: the simulator's when asked for (loaded by path, so JCuda's
        //    binding links to it), else asked of the dynamic loader directly (no JNI involved)
        if (CudaSimulator.requested()) {
            try {
                CudaSimulator.load();
            } catch (IllegalStateException e) {
                return new Probe(false, "DVP_CUDA_SIM asks for the CUDA simulator, but " + e.getMessage(), 0, 0);
            }
        } else {
            try (Arena a = Arena.ofConfined()) {
                SymbolLookup.libraryLookup("libcuda.so.1", a);
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                return new Probe(false, "no NVIDIA driver: libcuda.so.1 was not found by the dynamic loader (LD_LIBRARY_PATH="
                        + java.util.Objects.requireNonNullElse(System.getenv("LD_LIBRARY_PATH"), "<unset>") + "; is this a machine with an NVIDIA GPU and driver?"
                        + " To run the CUDA backend on the CPU in simulation, set DVP_CUDA_SIM=1)", 0, 0);
            }
        }
        // 2. JCuda's JNI library (extracted from the jcuda-natives jar) on top of it
        int r;
        try {
            JCudaDriver.setExceptionsEnabled(false);
            r = JCudaDriver.cuInit(0);
        } catch (LinkageError e) {
            // UnsatisfiedLinkError, or NoClassDefFoundError/ExceptionInInitializerError on a retry
            return new Probe(false, "JCuda's driver binding (JCudaDriver-12.6.0-linux-x86_64) could not be loaded: " + e, 0, 0);
        }
        if (r != CUresult.CUDA_SUCCESS) {
            String hint = switch (r) {
                case CUresult.CUDA_ERROR_NO_DEVICE -> " (no CUDA-capable device is visible; check CUDA_VISIBLE_DEVICES="
                        + System.getenv("CUDA_VISIBLE_DEVICES") + ")";
                case 34 /* CUDA_ERROR_STUB_LIBRARY */ -> " (libcuda.so.1 is the toolkit's stub library, not a real driver; fix LD_LIBRARY_PATH)";
                case 803 /* CUDA_ERROR_SYSTEM_DRIVER_MISMATCH */ -> " (the kernel module and libcuda.so.1 are different driver versions)";
                default -> "";
            };
            return new Probe(false, "cuInit failed: " + CUresult.stringFor(r) + hint, 0, 0);
        }
        int[] v = new int[1], n = new int[1];
        JCudaDriver.cuDriverGetVersion(v);
        r = JCudaDriver.cuDeviceGetCount(n);
        if (r != CUresult.CUDA_SUCCESS) return new Probe(false, "cuDeviceGetCount failed: " + CUresult.stringFor(r), v[0], 0);
        if (n[0] == 0) return new Probe(false, "CUDA driver " + version(v[0]) + " loaded but no device is visible", v[0], 0);
        if (CudaSimulator.loaded()) return new Probe(true, "SIMULATED: " + CudaSimulator.describe(), v[0], n[0]);
        return new Probe(true, "CUDA driver " + version(v[0]) + ", " + n[0] + " device(s)", v[0], n[0]);
    }

    /** 13000 -> "13.0". */
    static String version(int v) { return v / 1000 + "." + (v % 1000) / 10; }
}
