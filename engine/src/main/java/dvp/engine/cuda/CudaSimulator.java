package dvp.engine.cuda;

import dvp.engine.ffm.NativeLibrary;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Properties;

import static java.lang.foreign.ValueLayout.ADDRESS;

/**
 * The CUDA simulator (kernels/sim: a stand-in {@code libcuda.so.1} that runs the kernels' host build
 * on the CPU, plus simulated cuBLAS and cuDNN), used ONLY when asked for with {@code DVP_CUDA_SIM=1}
 * or {@code -Ddvp.cuda.sim=true}. Then, before JCuda's binding loads, the simulated driver is loaded
 * by its path; JCuda's binding, which links {@code libcuda.so.1} by soname, binds to it instead of a
 * real driver, and cuBLAS/cuDNN are opened from the same folder only. Without the request nothing
 * here runs and nothing of the simulator is loaded (a real driver is never replaced).
 *
 * <p>The libraries come from {@code -Ddvp.cuda.sim.dir} / {@code DVP_CUDA_SIM_DIR} (e.g. the
 * AddressSanitizer build), else from the dvp-kernels jar ({@value #RESOURCE_DIR}), extracted once
 * into a folder of the temporary directory named after the build.
 */
public final class CudaSimulator {
    static final String RESOURCE_DIR = "dvp/kernels/sim/linux-x86_64/";
    static final List<String> FILES = List.of("libcuda.so.1", "libdvp_kernels_host.so", "libcublas.so.13", "libcudnn.so.9", "sim.properties");

    private static Path dir;
    private static MethodHandle lastDiagnostic;
    private static String describe = "";

    private CudaSimulator() {}

    /** Whether this JVM was asked to use the simulator (decided by the environment, once). */
    public static boolean requested() { return CudaContext.flag("dvp.cuda.sim", "DVP_CUDA_SIM", false); }

    /** Whether the simulated driver is the one loaded in this JVM. */
    public static synchronized boolean loaded() { return lastDiagnostic != null; }

    /**
     * Loads the simulated driver (once). Throws IllegalStateException naming what was looked for
     * when the simulator is not there (e.g. the kernels module was built without nvcc).
     */
    static synchronized void load() {
        if (loaded()) return;
        Path d = locate();
        Path driver = d.resolve("libcuda.so.1");
        try {
            System.load(driver.toString());
        } catch (UnsatisfiedLinkError e) {
            throw new IllegalStateException("the CUDA simulator's driver " + driver + " does not load: " + e.getMessage(), e);
        }
        SymbolLookup lib = SymbolLookup.libraryLookup(driver, Arena.global());
        Linker linker = Linker.nativeLinker();
        lastDiagnostic = linker.downcallHandle(lib.find("dvpsim_last_diagnostic").orElseThrow(
                () -> new IllegalStateException(driver + " is not the dvp CUDA simulator (no dvpsim_last_diagnostic)")), FunctionDescriptor.of(ADDRESS));
        MethodHandle desc = linker.downcallHandle(lib.find("dvpsim_describe").orElseThrow(), FunctionDescriptor.of(ADDRESS));
        try {
            describe = ((MemorySegment) desc.invokeExact()).reinterpret(4096).getString(0);
        } catch (Throwable t) {
            describe = "dvp CUDA simulator";
        }
        dir = d;
    }

    /** The simulator's folder (after {@link #load()}). */
    static synchronized Path directory() { return dir; }

    /** One line: the simulated device and the simulator's configuration (schedule, memory, ASan). */
    public static synchronized String describe() { return describe; }

    /** What the simulator said about the last error (which kernel, argument, lane, allocation); "" if none. */
    static String lastDiagnostic() {
        MethodHandle mh;
        synchronized (CudaSimulator.class) {
            mh = lastDiagnostic;
        }
        if (mh == null) return "";
        try {
            return ((MemorySegment) mh.invokeExact()).reinterpret(1 << 16).getString(0);
        } catch (Throwable t) {
            return "";
        }
    }

    /** cuBLAS or cuDNN from the simulator's folder (never a real library next to the simulated driver). */
    static NativeLibrary library(String displayName, String soname) {
        Path d = directory();
        if (d == null) throw new IllegalStateException("the CUDA simulator is not loaded");
        return NativeLibrary.openFile(displayName + " (simulated)", d.resolve(soname));
    }

    private static Path locate() {
        String override = System.getProperty("dvp.cuda.sim.dir");
        if (override == null || override.isBlank()) override = System.getenv("DVP_CUDA_SIM_DIR");
        if (override != null && !override.isBlank()) {
            Path d = Path.of(override);
            if (!Files.isRegularFile(d.resolve("libcuda.so.1")))
                throw new IllegalStateException("DVP_CUDA_SIM_DIR / -Ddvp.cuda.sim.dir = " + override + " holds no libcuda.so.1 (build it with kernels/sim/build-sim.sh)");
            return d;
        }
        URL props = CudaSimulator.class.getClassLoader().getResource(RESOURCE_DIR + "sim.properties");
        if (props == null)
            throw new IllegalStateException("the CUDA simulator was asked for (DVP_CUDA_SIM) but is not on the class path (no " + RESOURCE_DIR
                    + "sim.properties: the dvp-kernels jar is missing or was built without nvcc, whose fat binary the simulator runs)");
        try {
            if (props.getProtocol().equals("file")) return Path.of(props.toURI()).getParent();  // the build's own folder
            return extract(props);
        } catch (IOException | URISyntaxException e) {
            throw new IllegalStateException("the CUDA simulator could not be extracted from the class path: " + e.getMessage(), e);
        }
    }

    /** Copies the libraries out of the jar once, into a folder named after their build stamp. */
    private static Path extract(URL props) throws IOException {
        Properties p = new Properties();
        try (InputStream in = props.openStream()) {
            p.load(in);
        }
        String stamp = p.getProperty("build.sha256", "unknown");
        Path target = Path.of(System.getProperty("java.io.tmpdir"), "dvp-cuda-sim-" + System.getProperty("user.name", "user") + "-" + stamp);
        if (Files.isRegularFile(target.resolve("sim.properties"))) return target;
        Path tmp = Files.createTempDirectory(target.getParent(), target.getFileName() + ".tmp");
        for (String f : FILES) {
            try (InputStream in = CudaSimulator.class.getClassLoader().getResourceAsStream(RESOURCE_DIR + f)) {
                if (in == null) continue;  // a library the build did not make is reported when it is opened
                Files.copy(in, tmp.resolve(f));
            }
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // another JVM extracted it first: use theirs
            if (!Files.isRegularFile(target.resolve("sim.properties"))) throw e;
        }
        return target;
    }
}
