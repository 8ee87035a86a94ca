package dvp.nn.parity;

import dvp.engine.MemoryFormat;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.TapeProbe;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.spi.Backends;
import dvp.engine.testing.CudaTesting;
import dvp.nn.models.ResNet;
import dvp.nn.models.StageFeatures;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A ResNet-18 (width 0.25) training step on the (simulated) CUDA device with a channels-last input,
 * so every activation and activation gradient of the network is channels-last, against the NCHW step
 * on the CPU reference: loss, every gradient, weights after SGD, momentum and BN buffers. The math is
 * the same and only summation orders differ, so the tolerances are StepParity's, calibrated per
 * tensor by the reference's own sensitivity to ulp-sized input changes (derivation in StepParity's
 * class comment). TF32 off (exact fp32). The channels-last blocks run the fused batch norm + add +
 * ReLU (bn_relu.cu's NHWC kernels) as the NCHW ones do: checked on the tape.
 */
class CudaChannelsLastResNetStepTest {
    @Test
    void channelsLastStepOnCudaMatchesTheNchwStepOnTheCpu() {
        CudaBackend cuda = CudaTesting.cuda();
        boolean tf32 = cuda.tf32();
        cuda.setTf32(false);
        try {
            var s = new ResNetStepParity.Settings(ResNet.Arch.RESNET18, 0.25, 4, 32, 10, 20200814L);
            StepParity.Report r = ResNetStepParity.compare(Backends.cpu(), cuda, s, MemoryFormat.CHANNELS_LAST);
            assertTrue(r.pass(), s.describe() + " channels-last: failures\n"
                    + r.failures().stream().map(StepParity.Row::line).collect(Collectors.joining("\n")));
            assertEquals(62, r.rows().stream().filter(x -> x.group().equals("gradients")).count());
        } finally {
            cuda.setTf32(tf32);
        }
    }

    @Test
    void everyStageOfAChannelsLastInputIsChannelsLastOnCuda() {
        CudaBackend cuda = CudaTesting.cuda();
        try (Scope scope = Scope.open("channels-last stages"); var use = Backends.use(cuda)) {
            ResNet model = ResNet.builder(ResNet.Arch.RESNET18).numClasses(10).widthMultiplier(0.25).build(new Rng(3));
            model.train();
            Tensor x = Tensor.of(cuda, new Rng(4).normal(2 * 3 * 32 * 32, 0, 1), 2, 3, 32, 32).contiguous(MemoryFormat.CHANNELS_LAST);
            StageFeatures f = model.forwardWithFeatures(x);
            for (int i = 0; i < 4; i++) {
                Tensor stage = f.stages().get(i);
                // layer4 of a 32-px input is 1x1: channels-last strides are then also row-major; still channels-last
                assertTrue(stage.isChannelsLast(), "stage " + (i + 1) + " lost the layout: " + stage.describe());
            }
            assertEquals(2, f.logits().dim(0));
        }
    }

    @Test
    void channelsLastBlocksRunTheFusedBatchNormReluOnCuda() {
        CudaBackend cuda = CudaTesting.cuda();
        try (Scope scope = Scope.open("channels-last fused"); var use = Backends.use(cuda)) {
            ResNet model = ResNet.builder(ResNet.Arch.RESNET18).numClasses(10).widthMultiplier(0.25).build(new Rng(3));
            model.train();
            Tensor x = Tensor.of(cuda, new Rng(4).normal(2 * 3 * 32 * 32, 0, 1), 2, 3, 32, 32).contiguous(MemoryFormat.CHANNELS_LAST);
            Tensor logits = model.forward(x);
            List<TapeProbe.Visit> fused = TapeProbe.visits(logits, Set.of("batch_norm_relu"));
            // the stem (bn1 + ReLU) and each of the 8 basic blocks' bn1 + ReLU and bn2 + shortcut + ReLU
            assertEquals(17, fused.size(), "fused batch norm + ReLU nodes of a channels-last ResNet-18");
            assertEquals(0, TapeProbe.visits(logits, Set.of("relu", "add")).size(), "an unfused ReLU or add on the channels-last tape");
            for (TapeProbe.Visit v : fused)
                assertTrue(v.output() == null || v.output().isChannelsLast(), "batch_norm_relu output " + v.output().describe());
        }
    }
}
