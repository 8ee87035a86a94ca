package dvp.cli;

import dvp.engine.spi.Backends;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class SelfTestCommandTest {
    @Test
    void selftestOnAMachineWithoutAGpuExitsThreeWithTheReason() {
        assumeFalse(Backends.all().stream().anyMatch(b -> b.name().equals("cuda") && b.availability().available()), "a GPU is present");
        CliRun r = CliRun.of("selftest", "--device", "cuda");
        assertEquals(ExitCodes.NO_BACKEND, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("cuda") && r.err().contains("libcuda.so.1"), r.err());
    }

    @Test
    void helpDescribesTheTable() {
        CliRun r = CliRun.of("selftest", "--help");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        assertTrue(r.out().contains("--resnet50") && r.out().contains("max relative error"), r.out());
    }
}
