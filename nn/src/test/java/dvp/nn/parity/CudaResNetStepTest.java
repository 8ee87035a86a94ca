package dvp.nn.parity;

import dvp.engine.cuda.CudaBackend;
import dvp.engine.spi.Backends;
import dvp.engine.testing.CudaTesting;
import dvp.nn.models.ResNet;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A whole ResNet-18 training step on {@code --device cuda} against the CPU ({@link ResNetStepParity},
 * the comparison {@code dvp selftest --resnet50} makes on a GPU): the loss, every gradient, every
 * weight after SGD with momentum and weight decay, the momentum buffers and the batch-norm buffers,
 * each within its tolerance calibrated by the CPU's own sensitivity ({@link StepParity}). Full
 * width, a batch of four 32-px images: every layer type of the network, batch norms down to 4 values
 * per channel (layer4 is 1x1), and a ReLU decision that the device's rounding flips (see
 * StepParity's class comment) — the case a fixed tolerance gets wrong. TF32 is off (exact fp32).
 */
class CudaResNetStepTest {
    @Test
    void resnet18TrainingStepOnCudaMatchesTheCpu() {
        CudaBackend cuda = CudaTesting.cuda();
        boolean tf32 = cuda.tf32();
        cuda.setTf32(false);
        try {
            var s = new ResNetStepParity.Settings(ResNet.Arch.RESNET18, 1.0, 4, 32, 10, 20200814L);
            StepParity.Report r = ResNetStepParity.compare(Backends.cpu(), cuda, s);
            String table = r.rows().stream().map(StepParity.Row::line).collect(Collectors.joining("\n"));
            assertTrue(r.pass(), s.describe() + ": failures\n"
                    + r.failures().stream().map(StepParity.Row::line).collect(Collectors.joining("\n")) + "\nall rows:\n" + table);
            assertEquals(List.of("loss", "gradients", "weights after SGD", "momentum buffers", "BN buffers"), r.groups());
            int params = 62, bnLayers = 20; // ResNet-18: 20 conv, 20 BN (weight + bias), fc weight + bias
            assertEquals(1, count(r, "loss"));
            assertEquals(params, count(r, "gradients"));
            assertEquals(params, count(r, "weights after SGD"));
            assertEquals(params, count(r, "momentum buffers"));
            assertEquals(3 * bnLayers, count(r, "BN buffers"), "running_mean, running_var, num_batches_tracked per BN");
            assertTrue(r.rows().stream().filter(x -> x.group().equals("gradients")).allMatch(x -> x.sensitivity() > 0),
                    "every gradient moved when the input did (the calibration saw each one)");
        } finally {
            cuda.setTf32(tf32);
        }
    }

    private static long count(StepParity.Report r, String group) { return r.rows().stream().filter(x -> x.group().equals(group)).count(); }
}
