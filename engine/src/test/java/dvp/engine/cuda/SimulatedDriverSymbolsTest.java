package dvp.engine.cuda;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The simulated libcuda.so.1 defines every driver entry point that JCuda 12.6's JNI binding imports
 * (the binding binds lazily, but a call to an undefined one would kill the JVM): the ones dvp calls are
 * simulated (driver.cpp), every other one fails by name (not_simulated.cpp). This keeps that list
 * complete when JCuda or the simulator changes.
 */
class SimulatedDriverSymbolsTest {
    private static Set<String> dynamicSymbols(Path lib, boolean undefined) throws Exception {
        Process p = new ProcessBuilder("nm", "-D", undefined ? "--undefined-only" : "--defined-only", lib.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "nm did not finish");
        assertEquals(0, p.exitValue(), "nm failed on " + lib + ":\n" + out);
        Set<String> names = new TreeSet<>();
        for (String line : out.lines().toList()) {
            String[] f = line.trim().split("\\s+");
            String name = f[f.length - 1];
            int at = name.indexOf('@');
            if (at > 0) name = name.substring(0, at);
            if (name.startsWith("cu")) names.add(name);
        }
        return names;
    }

    private static Path resourceFile(String name, Path dir) throws Exception {
        URL u = SimulatedDriverSymbolsTest.class.getClassLoader().getResource(name);
        if (u == null) return null;
        Path f = dir.resolve(Path.of(name).getFileName());
        try (InputStream in = u.openStream()) {
            Files.copy(in, f);
        }
        return f;
    }

    @Test
    void everyDriverCallJCudaImportsIsDefinedBySimulatedDriver() throws Exception {
        boolean nm = new ProcessBuilder("sh", "-c", "command -v nm").start().waitFor() == 0;
        assumeTrue(nm, "nm (binutils) is not installed");
        Path tmp = Files.createTempDirectory("dvp-sim-symbols");
        Path jcuda = resourceFile("lib/libJCudaDriver-12.6.0-linux-x86_64.so", tmp);
        assertTrue(jcuda != null, "JCuda's native driver binding is not on the test class path");
        Path sim = resourceFile(CudaSimulator.RESOURCE_DIR + "libcuda.so.1", tmp);
        if (sim == null) {
            if ("1".equals(System.getenv("DVP_REQUIRE_CUDA_SIM"))) fail("the CUDA simulator is not on the class path");
            assumeTrue(false, "the CUDA simulator was not built (no nvcc)");
        }
        Set<String> imported = dynamicSymbols(jcuda, true);
        Set<String> defined = dynamicSymbols(sim, false);
        assertTrue(imported.size() > 250, "parsed only " + imported.size() + " cu* imports of JCuda's binding");
        List<String> missing = new ArrayList<>();
        for (String s : imported) if (!defined.contains(s)) missing.add(s);
        assertEquals(List.of(), missing, "driver calls JCuda imports that the simulated libcuda.so.1 does not define "
                + "(add them to kernels/sim/runtime/not_simulated.cpp, or simulate them in driver.cpp)");
        // and the calls dvp's backend makes are simulated, not among the stubs that fail by name
        String stubs = Files.readString(Path.of("../kernels/sim/runtime/not_simulated.cpp"));
        for (String used : List.of("cuInit", "cuDeviceGetAttribute", "cuDevicePrimaryCtxRetain", "cuCtxSetCurrent", "cuStreamCreate",
                "cuLaunchKernel", "cuMemAlloc_v2", "cuMemFree_v2", "cuMemHostAlloc", "cuMemcpyHtoDAsync_v2", "cuMemcpyDtoHAsync_v2",
                "cuMemcpyDtoDAsync_v2", "cuMemsetD32Async", "cuMemsetD8Async", "cuModuleLoadData", "cuModuleGetFunction",
                "cuModuleGetGlobal_v2", "cuStreamBeginCapture_v2", "cuStreamEndCapture", "cuGraphInstantiateWithFlags", "cuGraphLaunch",
                "cuEventRecord", "cuEventSynchronize", "cuEventElapsedTime", "cuMemGetInfo_v2")) {
            assertTrue(defined.contains(used), used + " is not defined");
            assertTrue(!stubs.contains("NOT_SIMULATED(" + used + ")"), used + " is called by the backend but only stubbed");
        }
    }
}
