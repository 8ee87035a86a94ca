package dvp.cli.cuda;

import dvp.cli.Dvp;
import dvp.cli.ExitCodes;
import dvp.engine.testing.ChildJvm;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Out of device memory in a real command: {@code dvp bench --device cuda} with ResNet-50 (25.6 M
 * parameters, 102 MB) on a simulated device of 48 MiB (DVP_SIM_DEVICE_MEMORY; the CUDA context
 * itself holds 34 MiB: the cuBLAS workspace and the error word's segment). The command must stop
 * with exit code 4 and one line that says what was requested and what the card had, as PyTorch's
 * message does, never a stack trace.
 */
class CudaOutOfMemoryExitCodeTest {
    @Test
    void aCommandThatRunsOutOfDeviceMemoryExitsWith4AndSaysWhy() throws Exception {
        CudaTesting.cuda();
        ChildJvm.Result r = ChildJvm.run(Map.of("DVP_CUDA_SIM", "1", "DVP_SIM_DEVICE_MEMORY", "48M"), List.of(), Dvp.class,
                "bench", "--device", "cuda", "-s", "resnet50-train", "--batch", "2", "--resolution", "32", "--warmup", "0", "--samples", "1",
                "--ceilings", "none");
        String out = r.output();
        assertEquals(ExitCodes.OUT_OF_MEMORY, r.exit(), out);
        String line = out.lines().filter(l -> l.startsWith("dvp bench: ")).findFirst().orElse("");
        assertTrue(line.startsWith("dvp bench: out of memory: CUDA out of memory. Tried to allocate "), "one line naming the failure:\n" + out);
        assertTrue(line.contains("GPU has a total capacity of 48.00 MiB") && line.contains("is allocated by dvp tensors")
                && line.contains("Reduce the batch size"), line);
        assertTrue(!out.contains("\tat dvp.") && !out.contains("Exception in thread"), "no stack trace without --debug:\n" + out);
    }
}
