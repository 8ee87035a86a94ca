package dvp.cli;

import dvp.engine.spi.Backends;
import org.junit.jupiter.api.Assumptions;
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
    void anUnavailableDeviceGivesExitCode3AndSaysWhy() {
        Assumptions.assumeFalse(Backends.available().stream().anyMatch(b -> b.name().equals("cuda")), "CUDA is available here");
        CliRun r = CliRun.of("--device", "cuda", "doctor");
        assertEquals(3, r.code());
        String verdict = r.out().lines().toList().getLast();
        assertTrue(verdict.startsWith("verdict: not ready for --device cuda: backend 'cuda' is not available: "), verdict);
    }
}
