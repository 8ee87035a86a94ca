package dvp.engine.cuda;

import dvp.engine.spi.Availability;
import dvp.engine.spi.Backend;
import dvp.engine.spi.BackendUnavailableException;
import dvp.engine.spi.Backends;
import dvp.engine.testing.ChildJvm;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * How the CUDA backend is discovered and how it explains itself: the simulator only when asked for
 * (the test JVMs are: DVP_CUDA_SIM=1 from the build), never otherwise, and a precise reason when
 * there is no device.
 */
class CudaAvailabilityTest {
    private static Backend cuda() {
        return Backends.all().stream().filter(b -> b.name().equals("cuda")).findFirst().orElseThrow(
                () -> new AssertionError("CudaBackend is not registered in META-INF/services"));
    }

    @Test
    void registeredAndPreferredOverTheCpu() {
        Backend cuda = cuda();
        assertTrue(cuda.priority() < Backends.cpu().priority(), "auto must prefer cuda when it is available");
        assertEquals("cuda", cuda.device().kind());
    }

    @Test
    void theSimulatedDeviceSaysSoAndAutoNeverPicksIt() {
        assumeTrue(CudaSimulator.requested(), "this test JVM runs without DVP_CUDA_SIM (-Ddvp.test.cudaSim=0)");
        Backend cuda = cuda();
        Availability av = cuda.availability();
        assertTrue(av.available(), "the CUDA simulator was asked for but is unavailable: " + av.reason());
        assertTrue(cuda.simulated());
        assertTrue(av.reason().startsWith("SIMULATED"), av.reason());
        assertTrue(av.reason().contains("not a GPU"), av.reason());
        assertEquals("cpu", Backends.get("auto").name(), "a simulated device is never the fast choice");
        assertTrue(Backends.reasons().contains("simulated: auto skips it"), Backends.reasons());
        assertEquals(cuda, Backends.get("cuda"), "asked for by name, the simulated device is used");
    }

    /** Run in a child JVM without DVP_CUDA_SIM (and the simulator on its class path all the same). */
    public static final class ProbeWithoutSimulator {
        public static void main(String[] args) throws Exception {
            Backend cuda = Backends.all().stream().filter(b -> b.name().equals("cuda")).findFirst().orElseThrow();
            Availability av = cuda.availability();
            System.out.println("available=" + av.available());
            System.out.println("simulated=" + cuda.simulated());
            System.out.println("reason=" + av.reason());
            System.out.println("auto=" + Backends.get("auto").name());
            try {
                Backends.get("cuda");
                System.out.println("named=ok");
            } catch (BackendUnavailableException e) {
                System.out.println("named=" + e.getMessage());
            }
            String maps = Files.readString(Path.of("/proc/self/maps"));
            for (String lib : List.of("libdvp_kernels_host.so", "dvp-cuda-sim", "/sim/linux-x86_64/", "sim-asan"))
                if (maps.contains(lib)) System.out.println("LOADED " + lib);
        }
    }

    @Test
    void withoutDvpCudaSimTheSimulatorIsNeverLoaded() throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("DVP_CUDA_SIM", null);
        env.put("DVP_CUDA_SIM_DIR", null);
        ChildJvm.Result r = ChildJvm.run(env, List.of(), ProbeWithoutSimulator.class);
        assertEquals(0, r.exit(), r.output());
        String out = r.output();
        assertFalse(out.contains("LOADED"), "the simulator was loaded without being asked for:\n" + out);
        assertTrue(out.contains("simulated=false"), out);
        if (out.contains("available=false")) {
            // this machine has no GPU: the reason says what was looked for and how to simulate instead
            String reason = out.lines().filter(l -> l.startsWith("reason=")).findFirst().orElseThrow().substring(7);
            assertTrue(reason.length() > 20, "reason too vague: " + reason);
            assertTrue(reason.contains("libcuda.so.1") || reason.contains("JCuda") || reason.contains("cuInit") || reason.contains("device")
                    || reason.contains("kernel image") || reason.contains("cuBLAS") || reason.contains("cuDNN"), "reason does not name what was looked for: " + reason);
            if (reason.contains("libcuda.so.1 was not found")) assertTrue(reason.contains("DVP_CUDA_SIM=1"), reason);
            // asking for it by name fails with that reason; auto never fails over silently
            assertTrue(out.contains("named=") && out.contains(reason), out);
            assertTrue(out.contains("auto=cpu"), out);
        }
    }

    @Test
    void kernelImageInfoIsReadableWithoutAGpu() {
        KernelImage.Info info = KernelImage.info();
        if (info.present()) {
            assertTrue(info.kernelCount() > 20, info.describe());
            assertTrue(info.archs().contains("sm_90") && info.archs().contains("sm_80"), info.describe());
            assertFalse(info.toolkit().equals("unknown"), info.describe());
        } else {
            assertTrue(info.describe().contains("not built"), info.describe());
        }
    }

    @Test
    void askingForAMissingBackendByNameNamesIt() {
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> Backends.get("tpu"));
        assertTrue(e.getMessage().contains("no backend named 'tpu'"), e.getMessage());
    }
}
