package dvp.engine.cuda;

import dvp.engine.spi.Availability;
import dvp.engine.spi.Backend;
import dvp.engine.spi.BackendUnavailableException;
import dvp.engine.spi.Backends;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** How the CUDA backend is discovered and how it explains itself when it cannot run. */
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
    void withoutAGpuTheReasonIsPreciseAndAskingForCudaFails() {
        Availability av = cuda().availability();
        assumeFalse(av.available(), "a CUDA device is available here: " + av.reason());
        String reason = av.reason();
        assertTrue(reason != null && reason.length() > 20, "reason too vague: " + reason);
        assertTrue(reason.contains("libcuda.so.1") || reason.contains("JCuda") || reason.contains("cuInit")
                        || reason.contains("device") || reason.contains("kernel image") || reason.contains("cuBLAS")
                        || reason.contains("cuDNN"), "reason does not name what was looked for: " + reason);
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> Backends.get("cuda"));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        // auto never fails over silently to something unavailable: it picks the CPU and says so
        assertEquals("cpu", Backends.get("auto").name());
        assertFalse(Backends.available().contains(cuda()));
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
}
