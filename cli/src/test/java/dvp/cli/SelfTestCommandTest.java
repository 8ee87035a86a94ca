package dvp.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SelfTestCommandTest {
    /** Without a GPU (and without the simulator, which the test JVMs have): exit 3 and what was looked for. */
    @Test
    void selftestOnAMachineWithoutAGpuExitsThreeWithTheReason() throws Exception {
        WithoutSimulator.Result r = WithoutSimulator.run("selftest", "--device", "cuda");
        if (r.cudaAvailable()) return; // a machine with a real GPU: nothing is missing
        assertEquals(ExitCodes.NO_BACKEND, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("cuda") && r.err().contains("libcuda.so.1"), r.err());
        assertTrue(r.err().contains("DVP_CUDA_SIM=1"), "says how to run the CUDA code in simulation instead: " + r.err());
    }

    @Test
    void helpDescribesTheTable() {
        CliRun r = CliRun.of("selftest", "--help");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        assertTrue(r.out().contains("--resnet50") && r.out().contains("max relative error"), r.out());
    }
}
