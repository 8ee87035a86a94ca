package dvp.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DoctorCommandTest {
    @Test
    void reportsEverySectionAndAVerdict() {
        CliRun r = CliRun.of("doctor", "--device", "cpu");
        assertEquals(0, r.code(), r.out() + r.err());
        String out = r.out();
        for (String label : new String[] {"dvp ", "java ", "os ", "cpu ", "vector ", "threads ", "memory ", "backend cpu ", "pytorch ", "turbojpeg ", "datasets "})
            assertTrue(out.lines().anyMatch(l -> l.startsWith(label)), "line " + label + " in\n" + out);
        assertTrue(out.lines().anyMatch(l -> l.matches("backend cpu\\s+ok\\s+available: .*")), out);
        assertTrue(out.lines().anyMatch(l -> l.matches("java\\s+ok\\s+25.*|java\\s+ok\\s+2[6-9].*")), out);
        String verdict = out.lines().toList().getLast();
        assertTrue(verdict.startsWith("verdict: ready: training runs on cpu"), verdict);
    }

    @Test
    void anUnavailableDeviceGivesExitCode3AndSaysWhy() throws Exception {
        WithoutSimulator.Result r = WithoutSimulator.run("--device", "cuda", "doctor");
        if (r.cudaAvailable()) return; // a machine with a real GPU: the device is there
        assertEquals(3, r.code(), r.out() + r.err());
        String verdict = r.out().lines().toList().getLast();
        assertTrue(verdict.startsWith("verdict: not ready for --device cuda: backend 'cuda' is not available: "), verdict);
    }

    @Test
    void aSimulatedDeviceSaysSoFirst() {
        // the test JVMs run with the CUDA simulator (DVP_CUDA_SIM=1 from the build)
        CliRun r = CliRun.of("--device", "cuda", "doctor");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("\\s+SIMULATED\\s+not a GPU: the CUDA simulator .*")), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("backend cuda\\s+ok\\s+available: SIMULATED device \\(not a GPU\\).*")), r.out());
    }
}
