package dvp.engine;

import dvp.engine.spi.Backend;
import dvp.engine.spi.BackendUnavailableException;
import dvp.engine.spi.Backends;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendsTest {
    @Test void cpuIsDiscoveredThroughServiceLoaderAndAvailable() {
        Backend cpu = Backends.get("cpu");
        assertEquals("cpu", cpu.name());
        assertTrue(cpu.availability().available());
        assertTrue(Backends.all().stream().anyMatch(b -> b.name().equals("cpu")));
        assertTrue(Backends.available().contains(Backends.get("auto")));
    }

    @Test void anUnknownBackendIsAnErrorThatListsWhatWasFound() {
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> Backends.get("tpu"));
        assertTrue(e.getMessage().contains("no backend named 'tpu'") && e.getMessage().contains("cpu"), e.getMessage());
    }

    @Test void askingForCudaWithoutAUsableGpuNeverFallsBackToTheCpu() {
        boolean cudaUsable = Backends.available().stream().anyMatch(b -> b.name().equals("cuda"));
        if (cudaUsable) return; // on a GPU machine this case does not apply
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> Backends.get("cuda"));
        assertTrue(e.getMessage().startsWith("backend 'cuda' is not available: "), e.getMessage());
    }
}
